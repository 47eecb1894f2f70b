//! Where a case is (案件位置): its grid path from street to building, the reporter's address text,
//! and the 导航 link to the point.

use std::collections::{BTreeSet, HashMap};

use crate::db::Db;
use crate::error::AppResult;
use crate::grid::rules::code_len;

/// Between the names of a place's path.
pub const SEPARATOR: &str = " › ";

/// A case's place as people say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The grid nodes below the district, street first: (code, name). A case filed to the
    /// district itself has the district alone.
    pub path: Vec<(String, String)>,
    /// 人和街道 › 幸福社区 › 幸福小区 › 1号楼
    pub label: String,
    /// The address the reporter wrote, when they wrote one (Open311's `address_string`).
    pub address: Option<String>,
}

impl Place {
    /// The same place with the address text the reporter gave in `description`, if any.
    pub fn with_address_from(mut self, description: &str) -> Place {
        self.address = address_in(description);
        self
    }

    /// The last two names (小区 and 楼栋, say): what a phone's map app should show on its pin.
    pub fn short_label(&self) -> String {
        if self.path.is_empty() {
            return self.label.clone();
        }
        let from = self.path.len().saturating_sub(2);
        self.path[from..].iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(" ")
    }
}

/// The codes of a grid code's path below the district (street, community, compound, building),
/// or the district's own code for a district-level case.
pub fn path_codes(grid_code: &str) -> Vec<String> {
    let below: Vec<String> = (2..=5)
        .map(code_len)
        .filter(|n| *n <= grid_code.len())
        .map(|n| grid_code[..n].to_string())
        .collect();
    if below.is_empty() { vec![grid_code.to_string()] } else { below }
}

/// The place of `grid_code` from the names of its path's nodes (nodes without a name are left
/// out; a code nothing is known of is shown as the code).
pub fn build(grid_code: &str, names: &HashMap<String, String>) -> Place {
    let path: Vec<(String, String)> = path_codes(grid_code)
        .into_iter()
        .filter_map(|c| names.get(&c).map(|n| (c, n.clone())))
        .collect();
    let label = if path.is_empty() { grid_code.to_string() } else { label_of(&path) };
    Place {
        path,
        label,
        address: None,
    }
}

/// "人和街道 › 幸福社区 › 幸福小区 › 1号楼".
pub fn label_of(path: &[(String, String)]) -> String {
    path.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(SEPARATOR)
}

/// Open311 carries a reporter's `address_string` into the case as a last line
/// "（地址：…）" of the description (`open311::api`); the case table has no column of its own
/// for it. The last such line wins; an empty one is none.
pub fn address_in(description: &str) -> Option<String> {
    let at = description.rfind("（地址：")?;
    let rest = &description[at + "（地址：".len()..];
    let text = rest.strip_suffix('）').unwrap_or(rest).trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// A `geo:` URI (RFC 5870) that opens the phone's map app at the point with a pin named `label`:
/// `geo:LAT,LNG?q=LAT,LNG(label)`. The label is percent-encoded (UTF-8), parentheses included,
/// so a name cannot end the pin's label or break the link.
pub fn geo_uri(lat: f64, lng: f64, label: &str) -> String {
    let mut enc = String::with_capacity(label.len() * 3);
    for b in label.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    format!("geo:{lat:.6},{lng:.6}?q={lat:.6},{lng:.6}({enc})")
}

/// The places of many grid codes at once (a page of cases): one query per 500 path nodes,
/// never one per row. Keyed by the grid codes asked for; addresses are left to the caller
/// (`Place::with_address_from`).
pub async fn describe_many(db: &Db, district: &str, grid_codes: &[&str]) -> AppResult<HashMap<String, Place>> {
    let wanted: BTreeSet<String> = grid_codes.iter().flat_map(|c| path_codes(c)).collect();
    let wanted: Vec<String> = wanted.into_iter().collect();
    let names = crate::grid::store::names(db, district, &wanted).await?;
    Ok(grid_codes.iter().map(|c| (c.to_string(), build(c, &names))).collect())
}

/// One case's place, with the address its reporter gave in `description`.
pub async fn describe(db: &Db, district: &str, grid_code: &str, description: &str) -> AppResult<Place> {
    let mut all = describe_many(db, district, &[grid_code]).await?;
    let place = all.remove(grid_code).unwrap_or_else(|| build(grid_code, &HashMap::new()));
    Ok(place.with_address_from(description))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> HashMap<String, String> {
        [
            ("411602", "川汇区"),
            ("411602001", "人和街道"),
            ("411602001001", "幸福社区"),
            ("411602001001001", "幸福小区"),
            ("411602001001001001", "1号楼"),
        ]
        .into_iter()
        .map(|(c, n)| (c.to_string(), n.to_string()))
        .collect()
    }

    #[test]
    fn a_building_reads_from_the_street_down() {
        let p = build("411602001001001001", &names());
        assert_eq!(p.label, "人和街道 › 幸福社区 › 幸福小区 › 1号楼");
        assert_eq!(p.path.len(), 4);
        assert_eq!(p.path[0], ("411602001".to_string(), "人和街道".to_string()));
        assert_eq!(p.short_label(), "幸福小区 1号楼");
        assert_eq!(p.address, None);
    }

    #[test]
    fn higher_nodes_and_unknown_codes() {
        assert_eq!(build("411602001001", &names()).label, "人和街道 › 幸福社区");
        let d = build("411602", &names());
        assert_eq!((d.label.as_str(), d.path.len()), ("川汇区", 1));
        assert_eq!(d.short_label(), "川汇区");
        // A compound nobody named yet: the names that are known, in order.
        assert_eq!(build("411602001001009", &names()).label, "人和街道 › 幸福社区");
        assert_eq!(build("999999001", &names()).label, "999999001");
        assert_eq!(path_codes("411602001001001001").len(), 4);
        assert_eq!(path_codes("411602"), vec!["411602".to_string()]);
    }

    #[test]
    fn the_reporters_address_comes_from_the_open311_line() {
        assert_eq!(
            address_in("井盖缺失\n（地址：七一路与八一路交叉口东北角）").as_deref(),
            Some("七一路与八一路交叉口东北角")
        );
        assert_eq!(address_in("楼道堆物"), None);
        assert_eq!(address_in("x\n（地址： ）"), None);
        assert_eq!(address_in("x（地址：没有收尾").as_deref(), Some("没有收尾"));
        let p = build("411602001001001001", &names()).with_address_from("x\n（地址：1单元）");
        assert_eq!(p.address.as_deref(), Some("1单元"));
    }

    #[test]
    fn the_geo_uri_escapes_its_label() {
        assert_eq!(
            geo_uri(33.62, 114.65, "1号楼"),
            "geo:33.620000,114.650000?q=33.620000,114.650000(1%E5%8F%B7%E6%A5%BC)"
        );
        let u = geo_uri(-1.5, 2.25, "a (b) & c?#");
        assert_eq!(u, "geo:-1.500000,2.250000?q=-1.500000,2.250000(a%20%28b%29%20%26%20c%3F%23)");
        // Nothing in the label can close the pin's parentheses or start a fragment.
        let label = &u[u.find('(').unwrap() + 1..u.len() - 1];
        assert!(!label.contains(['(', ')', '#', '&', ' ', '?']));
    }
}
