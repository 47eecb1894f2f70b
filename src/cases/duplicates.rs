//! Likely duplicates: recent located reports per district and category, kept in memory so the
//! check costs microseconds on the report path; loaded from the database on first use and
//! confirmed against it before a case is flagged.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use uuid::Uuid;

use super::store::distance_m;
use crate::db::Db;
use crate::on_pool;

/// How many recent reports per (district, category) are kept: a district sees a few dozen per
/// category in three days, so this covers the window with room to spare.
const KEEP: usize = 200;

#[derive(Clone, Debug)]
struct Recent {
    id: Uuid,
    lat: f64,
    lng: f64,
    at: i64,
}

#[derive(Default)]
pub struct RecentReports {
    by_category: Mutex<HashMap<(String, String), VecDeque<Recent>>>,
}

impl RecentReports {
    async fn warm(&self, db: &Db, district: &str, category: &str, since_ms: i64) -> sqlx::Result<()> {
        let key = (district.to_string(), category.to_string());
        if self.by_category.lock().map(|m| m.contains_key(&key)).unwrap_or(true) {
            return Ok(());
        }
        let rows: Vec<(Uuid, f64, f64, i64)> = on_pool!(db, |p| sqlx::query_as(
            "SELECT id, lat, lng, reported_at FROM cases WHERE district = $1 AND category_code = $2 AND reported_at >= $3 \
             AND lat IS NOT NULL AND lng IS NOT NULL AND status NOT IN ('closed', 'declined') AND merged_into IS NULL \
             ORDER BY reported_at DESC LIMIT 200"
        )
        .bind(district)
        .bind(category)
        .bind(since_ms)
        .fetch_all(p)
        .await)?;
        if let Ok(mut m) = self.by_category.lock() {
            let q = m.entry(key).or_default();
            for (id, lat, lng, at) in rows.into_iter().rev() {
                q.push_back(Recent { id, lat, lng, at });
            }
        }
        Ok(())
    }

    /// Remember a new located report.
    pub fn push(&self, district: &str, category: &str, id: Uuid, at: (f64, f64), reported_at: i64) {
        if let Ok(mut m) = self.by_category.lock()
            && let Some(q) = m.get_mut(&(district.to_string(), category.to_string()))
        {
            q.push_back(Recent {
                id,
                lat: at.0,
                lng: at.1,
                at: reported_at,
            });
            while q.len() > KEEP {
                q.pop_front();
            }
        }
    }

    /// Recent reports of the category within `meters`, reported since `since_ms`: the three
    /// nearest, nearest first. Not confirmed: the case may have been closed or merged since, so the
    /// writing transaction confirms them ([`super::store::insert_in`] names the nearest still open).
    pub async fn near(
        &self,
        db: &Db,
        district: &str,
        category: &str,
        at: (f64, f64),
        meters: f64,
        since_ms: i64,
    ) -> sqlx::Result<Vec<Uuid>> {
        self.warm(db, district, category, since_ms).await?;
        let mut near: Vec<(f64, Uuid)> = match self.by_category.lock() {
            Ok(m) => m
                .get(&(district.to_string(), category.to_string()))
                .map(|q| {
                    q.iter()
                        .filter(|r| r.at >= since_ms)
                        .map(|r| (distance_m(at, (r.lat, r.lng)), r.id))
                        .filter(|(d, _)| *d <= meters)
                        .collect()
                })
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        near.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(near.into_iter().take(3).map(|(_, id)| id).collect())
    }
}
