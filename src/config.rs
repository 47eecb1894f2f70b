//! Settings: command-line flags, then environment variables, then an optional TOML file, then defaults.

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://gongzhi.db";
pub const DEFAULT_DEMO_DATABASE_URL: &str = "sqlite://gongzhi-demo.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DUPLICATE_METERS: f64 = 50.0;
pub const DEFAULT_DUPLICATE_HOURS: i64 = 72;

/// The settings file's shape (every key optional).
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub data_dir: Option<String>,
    /// Likely-duplicate reports: distance in metres and age in hours.
    pub duplicate_meters: Option<f64>,
    pub duplicate_hours: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub listen: String,
    pub data_dir: PathBuf,
    pub duplicate_meters: f64,
    pub duplicate_hours: i64,
}

/// Read the TOML file if one is named (flag or GONGZHI_CONFIG) or `gongzhi.toml` exists here.
pub fn load_file(path: Option<&Path>) -> anyhow::Result<FileSettings> {
    let path = match path {
        Some(p) => p.to_path_buf(),
        None => {
            let p = PathBuf::from("gongzhi.toml");
            if !p.exists() {
                return Ok(FileSettings::default());
            }
            p
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Merge: `flag_or_env` already holds flag-then-environment (clap does that); the file fills gaps.
pub fn resolve(
    database_url: Option<String>,
    listen: Option<String>,
    data_dir: Option<String>,
    file: FileSettings,
    default_db: &str,
) -> Settings {
    Settings {
        database_url: database_url.or(file.database_url).unwrap_or_else(|| default_db.to_string()),
        listen: listen.or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.to_string()),
        data_dir: PathBuf::from(data_dir.or(file.data_dir).unwrap_or_else(|| "data".to_string())),
        duplicate_meters: std::env::var("GONGZHI_DUPLICATE_METERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .or(file.duplicate_meters)
            .unwrap_or(DEFAULT_DUPLICATE_METERS),
        duplicate_hours: std::env::var("GONGZHI_DUPLICATE_HOURS")
            .ok()
            .and_then(|v| v.parse().ok())
            .or(file.duplicate_hours)
            .unwrap_or(DEFAULT_DUPLICATE_HOURS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence() {
        let file = FileSettings {
            database_url: Some("postgres://file".into()),
            listen: Some("127.0.0.1:1".into()),
            duplicate_hours: Some(24),
            ..Default::default()
        };
        let s = resolve(Some("sqlite://flag.db".into()), None, None, file, DEFAULT_DATABASE_URL);
        assert_eq!(s.database_url, "sqlite://flag.db");
        assert_eq!(s.listen, "127.0.0.1:1");
        assert_eq!(s.data_dir, PathBuf::from("data"));
        assert_eq!((s.duplicate_meters, s.duplicate_hours), (DEFAULT_DUPLICATE_METERS, 24));
        let s = resolve(None, None, None, FileSettings::default(), DEFAULT_DEMO_DATABASE_URL);
        assert_eq!(s.database_url, DEFAULT_DEMO_DATABASE_URL);
        assert_eq!(s.listen, DEFAULT_LISTEN);
        assert!(toml::from_str::<FileSettings>("databse_url = 'x'").is_err());
    }
}
