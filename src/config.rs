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
    /// The personal-data key file (see `sealed`); `<data_dir>/gongzhi.keys` when unset.
    pub key_file: Option<String>,
    /// Where clients reach the server, e.g. `https://gongzhi.example.gov.cn`.
    pub public_url: Option<String>,
    /// Serve `/metrics` here instead of on the main port.
    pub metrics_listen: Option<String>,
    /// Scrapers must send `Authorization: Bearer <token>` for `/metrics`.
    pub metrics_token: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed (IPs or CIDRs).
    pub trusted_proxies: Option<Vec<String>>,
    /// A session unused this long ends.
    pub session_idle_minutes: Option<i64>,
    /// A session ends this long after sign-in, used or not.
    pub session_hours: Option<i64>,
    /// A request's headers must arrive within this many seconds.
    pub header_timeout_secs: Option<u64>,
    /// A connection on which nothing moves for this many seconds is closed.
    pub idle_timeout_secs: Option<u64>,
    /// The MQTT broker devices publish alarms to, e.g. `mqtt://127.0.0.1:1883?client_id=gongzhi-1`.
    pub mqtt_url: Option<String>,
    /// Topics are `{prefix}/{district}/devices/{serial}/alarm|heartbeat`.
    pub mqtt_topic_prefix: Option<String>,
    /// A device's repeated alarms within this many minutes join its open case.
    pub alarm_window_minutes: Option<i64>,
}

/// Device alarms: where to subscribe, and the window that merges repeats.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceSettings {
    /// Off when unset.
    pub mqtt_url: Option<String>,
    pub mqtt_topic_prefix: String,
    pub alarm_window_minutes: i64,
}

pub const DEFAULT_MQTT_TOPIC_PREFIX: &str = "gongzhi";
pub const DEFAULT_ALARM_WINDOW_MINUTES: i64 = 10;

impl Default for DeviceSettings {
    fn default() -> Self {
        DeviceSettings {
            mqtt_url: None,
            mqtt_topic_prefix: DEFAULT_MQTT_TOPIC_PREFIX.to_string(),
            alarm_window_minutes: DEFAULT_ALARM_WINDOW_MINUTES,
        }
    }
}

impl DeviceSettings {
    /// Environment (read through `env`) first, then the file, then defaults; the window in 1..=1440.
    pub fn resolve(file: &FileSettings, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<DeviceSettings> {
        let text = |name: &str, file: &Option<String>| env(name).or_else(|| file.clone()).filter(|v| !v.trim().is_empty());
        Ok(DeviceSettings {
            mqtt_url: text("GONGZHI_MQTT_URL", &file.mqtt_url).map(|u| u.trim().to_string()),
            mqtt_topic_prefix: text("GONGZHI_MQTT_TOPIC_PREFIX", &file.mqtt_topic_prefix)
                .map(|p| p.trim().to_string())
                .unwrap_or_else(|| DEFAULT_MQTT_TOPIC_PREFIX.to_string()),
            alarm_window_minutes: bounded(
                "GONGZHI_ALARM_WINDOW_MINUTES / alarm_window_minutes",
                env("GONGZHI_ALARM_WINDOW_MINUTES"),
                file.alarm_window_minutes,
                DEFAULT_ALARM_WINDOW_MINUTES,
                1..=1440,
            )?,
        })
    }
}

/// The HTTP side: metrics, proxies, sessions, connection timeouts.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSettings {
    pub metrics_listen: Option<String>,
    pub metrics_token: Option<String>,
    pub trusted_proxies: Vec<String>,
    pub session_idle_minutes: i64,
    pub session_hours: i64,
    pub header_timeout_secs: u64,
    pub idle_timeout_secs: u64,
}

pub const DEFAULT_SESSION_IDLE_MINUTES: i64 = 120;
pub const DEFAULT_SESSION_HOURS: i64 = 12;
pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 60;

impl WebSettings {
    /// Environment (read through `env`) first, then the file, then defaults; numbers in range.
    pub fn resolve(file: &FileSettings, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<WebSettings> {
        let text = |name: &str, file: &Option<String>| env(name).or_else(|| file.clone()).filter(|v| !v.trim().is_empty());
        let proxies = match env("GONGZHI_TRUSTED_PROXIES") {
            Some(list) => list.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
            None => file.trusted_proxies.clone().unwrap_or_default(),
        };
        Ok(WebSettings {
            metrics_listen: text("GONGZHI_METRICS_LISTEN", &file.metrics_listen),
            metrics_token: text("GONGZHI_METRICS_TOKEN", &file.metrics_token).map(|t| t.trim().to_string()),
            trusted_proxies: proxies,
            session_idle_minutes: bounded(
                "GONGZHI_SESSION_IDLE_MINUTES / session_idle_minutes",
                env("GONGZHI_SESSION_IDLE_MINUTES"),
                file.session_idle_minutes,
                DEFAULT_SESSION_IDLE_MINUTES,
                5..=24 * 60,
            )?,
            session_hours: bounded(
                "GONGZHI_SESSION_HOURS / session_hours",
                env("GONGZHI_SESSION_HOURS"),
                file.session_hours,
                DEFAULT_SESSION_HOURS,
                1..=24 * 30,
            )?,
            header_timeout_secs: bounded(
                "GONGZHI_HEADER_TIMEOUT_SECS / header_timeout_secs",
                env("GONGZHI_HEADER_TIMEOUT_SECS"),
                file.header_timeout_secs,
                DEFAULT_HEADER_TIMEOUT_SECS,
                1..=300,
            )?,
            idle_timeout_secs: bounded(
                "GONGZHI_IDLE_TIMEOUT_SECS / idle_timeout_secs",
                env("GONGZHI_IDLE_TIMEOUT_SECS"),
                file.idle_timeout_secs,
                DEFAULT_IDLE_TIMEOUT_SECS,
                31..=3600,
            )?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub listen: String,
    pub data_dir: PathBuf,
    pub duplicate_meters: f64,
    pub duplicate_hours: i64,
    /// GONGZHI_KEY_FILE / key_file.
    pub key_file: Option<PathBuf>,
    /// Where clients reach the server (Open311's discovery names it); `None`: `http://{listen}`.
    pub public_url: Option<String>,
    pub web: WebSettings,
    /// MQTT and the alarm window.
    pub devices: DeviceSettings,
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
/// A duplicate-window setting that is not a number, or out of its range, stops the start with a
/// message naming it, rather than being ignored.
pub fn resolve(
    database_url: Option<String>,
    listen: Option<String>,
    data_dir: Option<String>,
    public_url: Option<String>,
    file: FileSettings,
    default_db: &str,
) -> anyhow::Result<Settings> {
    let web = WebSettings::resolve(&file, |name| std::env::var(name).ok())?;
    let devices = DeviceSettings::resolve(&file, |name| std::env::var(name).ok())?;
    let public_url = public_url.or(file.public_url).map(|u| checked_public_url(&u)).transpose()?;
    Ok(Settings {
        database_url: database_url.or(file.database_url).unwrap_or_else(|| default_db.to_string()),
        listen: listen.or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.to_string()),
        data_dir: PathBuf::from(data_dir.or(file.data_dir).unwrap_or_else(|| "data".to_string())),
        duplicate_meters: bounded(
            "GONGZHI_DUPLICATE_METERS / duplicate_meters",
            std::env::var("GONGZHI_DUPLICATE_METERS").ok(),
            file.duplicate_meters,
            DEFAULT_DUPLICATE_METERS,
            0.0..=10_000.0,
        )?,
        duplicate_hours: bounded(
            "GONGZHI_DUPLICATE_HOURS / duplicate_hours",
            std::env::var("GONGZHI_DUPLICATE_HOURS").ok(),
            file.duplicate_hours,
            DEFAULT_DUPLICATE_HOURS,
            0..=24 * 30,
        )?,
        key_file: std::env::var("GONGZHI_KEY_FILE")
            .ok()
            .filter(|k| !k.is_empty())
            .or(file.key_file)
            .map(PathBuf::from),
        public_url,
        web,
        devices,
    })
}

/// A public URL must be an absolute http(s) URL without query or fragment (a path is fine, for a
/// server behind a reverse proxy's prefix); kept without a trailing slash.
fn checked_public_url(text: &str) -> anyhow::Result<String> {
    let text = text.trim();
    let ok = url::Url::parse(text)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some() && u.query().is_none() && u.fragment().is_none());
    if !ok {
        anyhow::bail!("GONGZHI_PUBLIC_URL / public_url: \"{text}\" is not an absolute http(s) URL without query or fragment");
    }
    Ok(text.trim_end_matches('/').to_string())
}

/// The environment's value if set (it must parse), else the file's, else the default; in `range`.
fn bounded<T>(name: &str, env: Option<String>, file: Option<T>, default: T, range: std::ops::RangeInclusive<T>) -> anyhow::Result<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let v = match env.as_deref().map(str::trim) {
        Some(text) => text
            .parse::<T>()
            .map_err(|_| anyhow::anyhow!("{name}: \"{text}\" is not a number"))?,
        None => file.unwrap_or(default),
    };
    if !range.contains(&v) {
        anyhow::bail!("{name}: {v} is outside {}..={}", range.start(), range.end());
    }
    Ok(v)
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
        let s = resolve(Some("sqlite://flag.db".into()), None, None, None, file, DEFAULT_DATABASE_URL).unwrap();
        assert_eq!(s.database_url, "sqlite://flag.db");
        assert_eq!(s.listen, "127.0.0.1:1");
        assert_eq!(s.data_dir, PathBuf::from("data"));
        assert_eq!((s.duplicate_meters, s.duplicate_hours), (DEFAULT_DUPLICATE_METERS, 24));
        let s = resolve(None, None, None, None, FileSettings::default(), DEFAULT_DEMO_DATABASE_URL).unwrap();
        assert_eq!(s.database_url, DEFAULT_DEMO_DATABASE_URL);
        assert_eq!(s.listen, DEFAULT_LISTEN);
        assert_eq!(s.public_url, None);
        assert!(toml::from_str::<FileSettings>("databse_url = 'x'").is_err());
    }

    #[test]
    fn public_url() {
        let file = || FileSettings {
            public_url: Some("https://file.example".into()),
            ..Default::default()
        };
        let s = resolve(
            None,
            None,
            None,
            Some("https://gongzhi.example.gov.cn/".into()),
            file(),
            DEFAULT_DATABASE_URL,
        )
        .unwrap();
        assert_eq!(
            s.public_url.as_deref(),
            Some("https://gongzhi.example.gov.cn"),
            "the flag first, no trailing slash"
        );
        let s = resolve(None, None, None, None, file(), DEFAULT_DATABASE_URL).unwrap();
        assert_eq!(s.public_url.as_deref(), Some("https://file.example"));
        let s = resolve(
            None,
            None,
            None,
            Some("http://10.0.0.5:8080/gongzhi".into()),
            file(),
            DEFAULT_DATABASE_URL,
        )
        .unwrap();
        assert_eq!(s.public_url.as_deref(), Some("http://10.0.0.5:8080/gongzhi"));
        for bad in [
            "gongzhi.example",
            "ftp://x.example",
            "https://x.example/?a=1",
            "https://x.example/#top",
            "/open311",
        ] {
            let e = resolve(None, None, None, Some(bad.into()), FileSettings::default(), DEFAULT_DATABASE_URL).unwrap_err();
            assert!(e.to_string().contains("public_url"), "{bad}: {e}");
        }
        assert!(toml::from_str::<FileSettings>("public_url = 'https://x.example'").is_ok());
    }

    #[test]
    fn web_settings() {
        let none = |_: &str| None;
        let w = WebSettings::resolve(&FileSettings::default(), none).unwrap();
        assert_eq!(w.metrics_listen, None);
        assert_eq!((w.session_idle_minutes, w.session_hours), (120, 12));
        assert_eq!((w.header_timeout_secs, w.idle_timeout_secs), (10, 60));
        let file: FileSettings =
            toml::from_str("metrics_listen = '127.0.0.1:9100'\ntrusted_proxies = ['127.0.0.1', '10.0.0.0/8']\nsession_idle_minutes = 30")
                .unwrap();
        let env = |name: &str| match name {
            "GONGZHI_METRICS_TOKEN" => Some("s3cret".to_string()),
            "GONGZHI_SESSION_HOURS" => Some("8".to_string()),
            _ => None,
        };
        let w = WebSettings::resolve(&file, env).unwrap();
        assert_eq!(w.metrics_listen.as_deref(), Some("127.0.0.1:9100"));
        assert_eq!(w.metrics_token.as_deref(), Some("s3cret"));
        assert_eq!(w.trusted_proxies, vec!["127.0.0.1".to_string(), "10.0.0.0/8".to_string()]);
        assert_eq!((w.session_idle_minutes, w.session_hours), (30, 8));
        let env = |name: &str| (name == "GONGZHI_TRUSTED_PROXIES").then(|| " 192.0.2.1 , ,::1".to_string());
        assert_eq!(WebSettings::resolve(&file, env).unwrap().trusted_proxies, vec!["192.0.2.1", "::1"]);
        let env = |name: &str| (name == "GONGZHI_SESSION_IDLE_MINUTES").then(|| "0".to_string());
        assert!(WebSettings::resolve(&file, env).is_err(), "a session cannot be idle-free");
        let env = |name: &str| (name == "GONGZHI_IDLE_TIMEOUT_SECS").then(|| "10".to_string());
        assert!(
            WebSettings::resolve(&file, env).is_err(),
            "the idle timeout stays above the handlers' 30 s"
        );
    }

    #[test]
    fn device_settings() {
        let d = DeviceSettings::resolve(&FileSettings::default(), |_| None).unwrap();
        assert_eq!(d, DeviceSettings::default());
        assert_eq!((d.mqtt_url, d.alarm_window_minutes), (None, 10));
        let file: FileSettings = toml::from_str("mqtt_url = 'mqtt://b:1883'\nmqtt_topic_prefix = 'x/y'\nalarm_window_minutes = 5").unwrap();
        let d = DeviceSettings::resolve(&file, |_| None).unwrap();
        assert_eq!(
            (d.mqtt_url.as_deref(), d.mqtt_topic_prefix.as_str(), d.alarm_window_minutes),
            (Some("mqtt://b:1883"), "x/y", 5)
        );
        let env = |name: &str| (name == "GONGZHI_MQTT_URL").then(|| "mqtt://env".to_string());
        assert_eq!(DeviceSettings::resolve(&file, env).unwrap().mqtt_url.as_deref(), Some("mqtt://env"));
        let env = |name: &str| (name == "GONGZHI_ALARM_WINDOW_MINUTES").then(|| "0".to_string());
        assert!(DeviceSettings::resolve(&file, env).is_err());
    }

    #[test]
    fn bad_numbers_stop_the_start() {
        assert_eq!(bounded("m", Some("75".into()), Some(1.0), 50.0, 0.0..=10_000.0).unwrap(), 75.0);
        assert_eq!(bounded("m", None, Some(20.0), 50.0, 0.0..=10_000.0).unwrap(), 20.0);
        assert_eq!(bounded("m", None, None, 50.0, 0.0..=10_000.0).unwrap(), 50.0);
        let e = bounded("GONGZHI_DUPLICATE_METERS", Some("fifty".into()), None, 50.0, 0.0..=10_000.0).unwrap_err();
        assert!(e.to_string().contains("GONGZHI_DUPLICATE_METERS"), "{e}");
        assert!(bounded("h", Some("-1".into()), None, 72, 0..=720).is_err());
        assert!(bounded("h", None, Some(100_000), 72, 0..=720).is_err());
        assert!(
            bounded("m", Some("NaN".into()), None, 50.0, 0.0..=10_000.0).is_err(),
            "NaN is in no range"
        );
    }
}
