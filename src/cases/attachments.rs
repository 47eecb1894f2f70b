//! Case photos: JPEG, PNG or WebP up to 10 MB, recognised by their bytes (not their name), stored
//! once per content hash under `<data dir>/attachments/`, served only to those who may see the case.

use std::path::{Path, PathBuf};

use uuid::Uuid;

use serde_json::json;

use crate::audit::{self, Actor};
use crate::db::{Db, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::{on_pool, on_tx};

pub const MAX_BYTES: usize = 10 * 1024 * 1024;

/// The image type the bytes really are, if one we accept.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::auth::hex(&sha2::Sha256::digest(bytes))
}

fn path_of(dir: &Path, sha: &str) -> PathBuf {
    dir.join("attachments").join(&sha[..2]).join(sha)
}

#[derive(sqlx::FromRow, Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AttachmentRow {
    pub sha256: String,
    pub mime: String,
    pub size: i64,
    pub uploaded_by: String,
    pub created_at: i64,
}

pub async fn list(db: &Db, case_id: Uuid) -> sqlx::Result<Vec<AttachmentRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, AttachmentRow>(
        "SELECT sha256, mime, size, uploaded_by, created_at FROM case_attachments WHERE case_id = $1 ORDER BY created_at, sha256"
    )
    .bind(case_id)
    .fetch_all(p)
    .await)
}

/// Write `bytes` under their SHA-256 and return it. An existing file is trusted only when its
/// size and hash match (a crash can leave an empty or short file); the new file is synced before
/// the rename and the folder after it, so an acknowledged photo survives a power cut.
fn store_file(dir: &Path, bytes: &[u8]) -> anyhow::Result<String> {
    use std::io::Write;
    let sha = sha256_hex(bytes);
    let path = path_of(dir, &sha);
    let intact =
        std::fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64) && std::fs::read(&path).is_ok_and(|b| sha256_hex(&b) == sha);
    if intact {
        return Ok(sha);
    }
    let parent = path.parent().ok_or_else(|| anyhow::anyhow!("no folder for {}", path.display()))?;
    std::fs::create_dir_all(parent).map_err(|e| anyhow::anyhow!("create {}: {e}", parent.display()))?;
    let tmp = parent.join(format!(".{sha}.{}", Uuid::now_v7()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| anyhow::anyhow!("create {}: {e}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| anyhow::anyhow!("write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| anyhow::anyhow!("rename {}: {e}", path.display()))?;
    #[cfg(unix)]
    std::fs::File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(|e| anyhow::anyhow!("sync {}: {e}", parent.display()))?;
    Ok(sha)
}

/// The photo's type, or why it is refused (empty, over 10 MB, not JPEG/PNG/WebP). A report form
/// checks every photo with this before it creates the case, so a refused photo leaves no case.
pub fn check(bytes: &[u8]) -> AppResult<&'static str> {
    if bytes.is_empty() || bytes.len() > MAX_BYTES {
        return Err(AppError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "照片不能为空，且不超过10MB",
        ));
    }
    sniff(bytes).ok_or_else(|| {
        AppError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_image",
            "只接受 JPEG、PNG 或 WebP 格式的照片",
        )
    })
}

/// Keep a photo that belongs to no case row (a care visit's, a campaign spot's): checked by its
/// bytes and written as case photos are, once per content. Its SHA-256 and type.
pub async fn keep(dir: &Path, bytes: &[u8]) -> AppResult<(String, &'static str)> {
    let mime = check(bytes)?;
    let (owned, root) = (bytes.to_vec(), dir.to_path_buf());
    let sha = tokio::task::spawn_blocking(move || store_file(&root, &owned))
        .await
        .map_err(|e| anyhow::anyhow!("photo writer: {e}"))??;
    Ok((sha, mime))
}

/// Whether a photo is kept under this SHA-256 (a page links only photos it has).
pub async fn is_kept(dir: &Path, sha: &str) -> bool {
    sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()) && tokio::fs::metadata(path_of(dir, sha)).await.is_ok()
}

/// A kept photo as a console page serves it: its type read from the bytes, never sniffed by the
/// browser, cached by the one who may see it for an hour.
pub fn photo_response(bytes: Vec<u8>) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let mime = sniff(&bytes).unwrap_or("application/octet-stream");
    (
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// The bytes of a photo kept by [`keep`] (or a case's), by its SHA-256; 404 when absent.
pub async fn read_kept(dir: &Path, sha: &str) -> AppResult<Vec<u8>> {
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::not_found("该照片"));
    }
    tokio::fs::read(path_of(dir, sha)).await.map_err(|_| AppError::not_found("该照片"))
}

/// Store the bytes (file first, written to a temporary name, flushed to disk and renamed, so a
/// crash leaves no half file under the real name), then the row and its audit entry. The same
/// photo twice on one case is one photo.
pub async fn add(db: &Db, dir: &Path, actor: Actor<'_>, case_id: Uuid, district: &str, bytes: &[u8]) -> AppResult<AttachmentRow> {
    let mime = check(bytes)?;
    // Hashing and writing 10 MB is blocking work: off the async threads.
    let (owned, root) = (bytes.to_vec(), dir.to_path_buf());
    let sha = tokio::task::spawn_blocking(move || store_file(&root, &owned))
        .await
        .map_err(|e| anyhow::anyhow!("photo writer: {e}"))??;
    let uploader = actor.display_name().to_string();
    let now = now_ms();
    let mut tx = db.begin().await?;
    let inserted = on_tx!(&mut tx, |c| {
        sqlx::query(
        "INSERT INTO case_attachments (id, case_id, district, sha256, mime, size, uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    .bind(new_id())
    .bind(case_id)
    .bind(district)
    .bind(&sha)
    .bind(mime)
    .bind(bytes.len() as i64)
    .bind(&uploader)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    });
    match inserted {
        Ok(_) => {
            audit::record(
                &mut tx,
                actor,
                audit::Entry {
                    district,
                    action: "case.attachment",
                    target_kind: "case",
                    target_id: &case_id.to_string(),
                    reason: "",
                    detail: json!({"sha256": sha, "mime": mime, "size": bytes.len()}),
                },
            )
            .await?;
            tx.commit().await?
        }
        Err(e) if crate::db::is_unique_violation(&e) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(AttachmentRow {
        sha256: sha,
        mime: mime.into(),
        size: bytes.len() as i64,
        uploaded_by: uploader,
        created_at: now,
    })
}

/// The bytes and type of a photo on this case.
pub async fn read(db: &Db, dir: &Path, case_id: Uuid, sha: &str) -> AppResult<(String, Vec<u8>)> {
    let mime: Option<String> = on_pool!(db, |p| sqlx::query_scalar(
        "SELECT mime FROM case_attachments WHERE case_id = $1 AND sha256 = $2"
    )
    .bind(case_id)
    .bind(sha)
    .fetch_optional(p)
    .await)?;
    let mime = mime.ok_or_else(|| AppError::not_found("照片"))?;
    let bytes = tokio::fs::read(path_of(dir, sha)).await.map_err(|_| AppError::not_found("照片"))?;
    Ok((mime, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file left empty or short by a crash under a photo's name is rewritten, not trusted.
    #[test]
    fn a_damaged_file_under_the_name_is_rewritten() {
        let dir = std::env::temp_dir().join(format!("gongzhi-photo-{}", Uuid::now_v7()));
        let bytes = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4];
        let path = path_of(&dir, &sha256_hex(&bytes));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"").unwrap();
        assert_eq!(store_file(&dir, &bytes).unwrap(), sha256_hex(&bytes));
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        std::fs::write(&path, &bytes[..4]).unwrap();
        store_file(&dir, &bytes).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "a short file is rewritten too");
        // An intact file is kept as it is, and no temporary file is left behind.
        store_file(&dir, &bytes).unwrap();
        let left: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn recognises_images_by_their_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("image/jpeg"));
        assert_eq!(sniff(b"\\x89PNG\\r\\n\\x1a\\n"), None, "escaped text is not a PNG");
        assert_eq!(sniff(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0]), Some("image/png"));
        assert_eq!(sniff(b"RIFF\\0\\0\\0\\0WEBPVP8 "), None);
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"<svg xmlns="), None);
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
