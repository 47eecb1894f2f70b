//! Point location: which grid a reported point falls in — the smallest one (building, else
//! compound, …) — through an R-tree over the grid polygons. Pure, built from boundary rows.

use geo::{Intersects, Point, Polygon};
use rstar::{AABB, RTree, RTreeObject};

use crate::grid::rules;

struct Cell {
    code: String,
    name: String,
    level: i64,
    polygon: Polygon<f64>,
    envelope: AABB<[f64; 2]>,
}

impl RTreeObject for Cell {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

/// An index over grid boundaries.
pub struct GridIndex {
    tree: RTree<Cell>,
}

impl GridIndex {
    /// Build from `(code, level, GeoJSON boundary)`; rows whose boundary does not parse are skipped.
    pub fn build<'a>(rows: impl IntoIterator<Item = (&'a str, i64, &'a str)>) -> GridIndex {
        Self::build_named(rows.into_iter().map(|(c, l, b)| (c, "", l, b)))
    }

    /// Build from `(code, name, level, GeoJSON boundary)`.
    pub fn build_named<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str, i64, &'a str)>) -> GridIndex {
        let cells = rows
            .into_iter()
            .filter_map(|(code, name, level, boundary)| {
                let b = rules::parse_boundary_text(boundary).ok()?;
                let (min_lat, min_lng, max_lat, max_lng) = b.bbox;
                Some(Cell {
                    code: code.to_string(),
                    name: name.to_string(),
                    level,
                    polygon: b.polygon,
                    envelope: AABB::from_corners([min_lng, min_lat], [max_lng, max_lat]),
                })
            })
            .collect();
        GridIndex {
            tree: RTree::bulk_load(cells),
        }
    }

    pub fn len(&self) -> usize {
        self.tree.size()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// The deepest grid whose boundary holds the point (edges count as inside), if any.
    pub fn locate(&self, lat: f64, lng: f64) -> Option<&str> {
        self.locate_named(lat, lng).map(|(code, _)| code)
    }

    /// Like `locate`, with the grid's name.
    pub fn locate_named(&self, lat: f64, lng: f64) -> Option<(&str, &str)> {
        let p = Point::new(lng, lat);
        self.tree
            .locate_in_envelope_intersecting(&AABB::from_point([lng, lat]))
            .filter(|c| c.polygon.intersects(&p))
            .max_by(|a, b| a.level.cmp(&b.level).then_with(|| b.code.cmp(&a.code)))
            .map(|c| (c.code.as_str(), c.name.as_str()))
    }
}

/// The index the server answers from, built from the database on first use and dropped
/// whenever a boundary changes.
#[derive(Default)]
pub struct SharedIndex {
    current: tokio::sync::RwLock<Option<std::sync::Arc<GridIndex>>>,
}

impl SharedIndex {
    pub async fn get(&self, db: &crate::db::Db) -> sqlx::Result<std::sync::Arc<GridIndex>> {
        if let Some(i) = self.current.read().await.as_ref() {
            return Ok(i.clone());
        }
        let mut slot = self.current.write().await;
        if let Some(i) = slot.as_ref() {
            return Ok(i.clone());
        }
        let rows: Vec<(String, String, i64, String)> =
            crate::on_pool!(db, |p| sqlx::query_as("SELECT code, name, level, boundary FROM grids")
                .fetch_all(p)
                .await)?;
        // Parsing a district's polygons is CPU work: off the async threads. The write lock stays
        // held meanwhile (others wait without blocking a thread), so one build serves them all and
        // an invalidation cannot be overwritten by a build that started before it.
        let idx = tokio::task::spawn_blocking(move || {
            std::sync::Arc::new(GridIndex::build_named(
                rows.iter().map(|(c, n, l, b)| (c.as_str(), n.as_str(), *l, b.as_str())),
            ))
        })
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("grid index build: {e}")))?;
        *slot = Some(idx.clone());
        Ok(idx)
    }

    pub async fn invalidate(&self) {
        *self.current.write().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::plan::{SMALL, plan};

    fn index_of_small() -> (GridIndex, crate::demo::plan::Plan) {
        let p = plan(SMALL, 3);
        let rows: Vec<(String, i64, String)> = p
            .grids
            .iter()
            .map(|g| (g.code.clone(), g.level, g.shape.geojson().to_string()))
            .collect();
        let idx = GridIndex::build(rows.iter().map(|(c, l, b)| (c.as_str(), *l, b.as_str())));
        (idx, p)
    }

    #[test]
    fn centres_locate_their_own_grid() {
        let (idx, p) = index_of_small();
        assert_eq!(idx.len(), p.grids.len());
        for g in p.grids.iter().filter(|g| g.level == 5) {
            let b = rules::parse_boundary(&g.shape.geojson()).unwrap();
            assert_eq!(idx.locate(b.center.0, b.center.1), Some(g.code.as_str()), "centre of {}", g.code);
        }
    }

    #[test]
    fn open_ground_falls_to_the_compound_and_outside_to_nothing() {
        let (idx, p) = index_of_small();
        // Buildings are footprints shrunk inside their cells, so just inside a compound's corner is open ground.
        let compound = p.grids.iter().find(|g| g.kind == "compound").unwrap();
        let corner = compound.shape.0[0];
        let n = compound.shape.0.len() as f64;
        let (cx, cy) = (
            compound.shape.0.iter().map(|c| c.0).sum::<f64>() / n,
            compound.shape.0.iter().map(|c| c.1).sum::<f64>() / n,
        );
        let (lng, lat) = (corner.0 + (cx - corner.0) * 0.01, corner.1 + (cy - corner.1) * 0.01);
        assert_eq!(idx.locate(lat, lng), Some(compound.code.as_str()));
        assert_eq!(idx.locate(0.0, 0.0), None);
        assert_eq!(idx.locate(33.0, 114.65), None);
    }

    #[test]
    fn every_point_is_in_exactly_one_chain() {
        // Random points inside the district land in a grid whose ancestors all hold the point.
        use rand::{RngExt, SeedableRng};
        let (idx, p) = index_of_small();
        let street = &p.grids.iter().find(|g| g.level == 2).unwrap().shape;
        let (min_lng, min_lat, max_lng, max_lat) = street.bounds();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for _ in 0..2000 {
            let lat = rng.random_range(min_lat..max_lat);
            let lng = rng.random_range(min_lng..max_lng);
            if !street.contains(lat, lng) {
                continue;
            }
            let code = idx.locate(lat, lng).expect("inside the street");
            assert!(code.len() >= 15, "at least a compound: {code}");
            for g in p.grids.iter().filter(|g| code.starts_with(g.code.as_str())) {
                let b = rules::parse_boundary(&g.shape.geojson()).unwrap();
                assert!(b.polygon.intersects(&Point::new(lng, lat)), "{} holds the point", g.code);
            }
        }
    }
}
