//! The MQTT subscriber (设备接入): a persistent session on the broker, QoS 1, each alarm
//! acknowledged only once it is stored, reconnecting with backoff and subscribing again on ConnAck.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use super::AlarmsState;

/// Where and how to subscribe.
#[derive(Debug, Clone, PartialEq)]
pub struct MqttSettings {
    pub host: String,
    pub port: u16,
    /// Stable across restarts: the broker keeps the session (and what arrived meanwhile) under it.
    pub client_id: String,
    /// Topics are `{prefix}/{district}/devices/{serial}/alarm|heartbeat`.
    pub prefix: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// Read `mqtt://[user:pass@]host[:port][?client_id=ID]` (TLS is not built in: `mqtts` is refused).
pub fn parse_url(text: &str, prefix: &str) -> anyhow::Result<MqttSettings> {
    let u = url::Url::parse(text.trim()).map_err(|e| anyhow::anyhow!("GONGZHI_MQTT_URL / mqtt_url: {e}"))?;
    if !matches!(u.scheme(), "mqtt" | "tcp") {
        anyhow::bail!("GONGZHI_MQTT_URL / mqtt_url: the scheme must be mqtt:// (TLS is not built in)");
    }
    let host = u
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| anyhow::anyhow!("GONGZHI_MQTT_URL / mqtt_url: no host"))?
        .trim_matches(|c| c == '[' || c == ']')
        .to_string();
    let client_id = u
        .query_pairs()
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| "gongzhi-server".to_string());
    if client_id.is_empty() || client_id.len() > 64 {
        anyhow::bail!("GONGZHI_MQTT_URL / mqtt_url: client_id must be 1 to 64 characters");
    }
    let prefix = prefix.trim().trim_end_matches('/').to_string();
    if prefix.is_empty() || prefix.contains(['+', '#']) {
        anyhow::bail!("GONGZHI_MQTT_TOPIC_PREFIX / mqtt_topic_prefix: not empty, no wildcards");
    }
    Ok(MqttSettings {
        host,
        port: u.port().unwrap_or(1883),
        client_id,
        prefix,
        username: (!u.username().is_empty()).then(|| u.username().to_string()),
        password: u.password().map(str::to_string),
    })
}

/// The largest packet read from the broker (1 MiB).
pub const MAX_PACKET: usize = 1024 * 1024;

/// Handlers at work at once: alarms of different devices are stored side by side (more than a
/// broker sends unacknowledged at once — Mosquitto: 20 — so the event loop never waits for one).
const WORKERS: usize = 64;

/// Subscribe until `stop` turns true. The event loop is polled in this task; each message is
/// handled in its own task (at most [`WORKERS`] at once) and acknowledged after it is stored. A
/// message that cannot be stored (the database is down) is retried a few times, then left
/// unacknowledged: the broker sends it again on the next session.
pub fn spawn(state: AlarmsState, m: MqttSettings, mut stop: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut opts = MqttOptions::new(m.client_id.clone(), m.host.clone(), m.port);
        opts.set_clean_session(false)
            .set_manual_acks(true)
            .set_keep_alive(Duration::from_secs(30))
            // Bigger than any alarm (refused above 8 KB, and then stored as malformed and
            // acknowledged): a packet over this breaks the connection, and the broker would send it
            // again on every session, so set the broker's `max_packet_size` to this or less.
            .set_max_packet_size(MAX_PACKET, 64 * 1024);
        if let (Some(u), Some(p)) = (&m.username, &m.password) {
            opts.set_credentials(u.clone(), p.clone());
        }
        let (client, mut events) = AsyncClient::new(opts, 1024);
        let workers = Arc::new(tokio::sync::Semaphore::new(WORKERS));
        let topics = [
            format!("{}/+/devices/+/alarm", m.prefix),
            format!("{}/+/devices/+/heartbeat", m.prefix),
        ];
        let mut backoff = Duration::from_millis(250);
        tracing::info!(host = %m.host, port = m.port, prefix = %m.prefix, "MQTT subscriber starting");
        loop {
            let event = tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                e = events.poll() => e,
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    backoff = Duration::from_millis(250);
                    state.counters.mqtt_connected.store(true, Ordering::Relaxed);
                    state.counters.mqtt_connections.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(session_present = ack.session_present, "MQTT connected");
                    // Subscribe again on every connection (a broker that lost the session still
                    // delivers); sent from a task so the event loop keeps turning.
                    let (c, t) = (client.clone(), topics.clone());
                    tokio::spawn(async move {
                        for topic in t {
                            if let Err(e) = c.subscribe(topic, QoS::AtLeastOnce).await {
                                tracing::warn!(error = %e, "MQTT subscribe failed");
                            }
                        }
                    });
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let Ok(permit) = workers.clone().acquire_owned().await else { break };
                    let (s, c, prefix) = (state.clone(), client.clone(), m.prefix.clone());
                    tokio::spawn(async move {
                        let _permit = permit;
                        let mut wait = Duration::from_millis(100);
                        for attempt in 0..5 {
                            match super::service::on_message(&s, &prefix, &p.topic, &p.payload).await {
                                Ok(()) => {
                                    if let Err(e) = c.ack(&p).await {
                                        tracing::warn!(error = %e, "MQTT acknowledgement not sent");
                                    }
                                    return;
                                }
                                Err(e) => {
                                    tracing::warn!(attempt, code = e.code, "alarm not stored yet; retrying");
                                    tokio::time::sleep(wait).await;
                                    wait *= 2;
                                }
                            }
                        }
                        s.counters.not_stored.fetch_add(1, Ordering::Relaxed);
                        tracing::error!("alarm not stored; left unacknowledged for the broker to send again");
                    });
                }
                Ok(_) => {}
                Err(e) => {
                    state.counters.mqtt_connected.store(false, Ordering::Relaxed);
                    state.counters.mqtt_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "MQTT connection lost");
                    tokio::select! {
                        _ = stop.wait_for(|s| *s) => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
        state.counters.mqtt_connected.store(false, Ordering::Relaxed);
        let _ = client.try_disconnect();
        tracing::info!("MQTT subscriber stopped");
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let m = parse_url("mqtt://127.0.0.1:1884?client_id=gz-1", "gongzhi").unwrap();
        assert_eq!((m.host.as_str(), m.port, m.client_id.as_str()), ("127.0.0.1", 1884, "gz-1"));
        let m = parse_url("mqtt://u:p@broker", "a/b/").unwrap();
        assert_eq!(
            (m.port, m.prefix.as_str(), m.username.as_deref(), m.password.as_deref()),
            (1883, "a/b", Some("u"), Some("p"))
        );
        assert_eq!(m.client_id, "gongzhi-server");
        assert!(parse_url("mqtts://broker", "gongzhi").is_err());
        assert!(parse_url("http://broker", "gongzhi").is_err());
        assert!(parse_url("mqtt://broker", "a/#").is_err());
        assert!(parse_url("not a url", "gongzhi").is_err());
    }
}
