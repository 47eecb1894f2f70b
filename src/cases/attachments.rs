//! Case photos: JPEG, PNG or WebP up to 10 MB, recognised by their bytes (not their name), stored
//! once per content hash under `<data dir>/attachments/`, served only to those who may see the case.

use std::path::{Path, PathBuf};

use uuid::Uuid;

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

/// Store the bytes (file first, written to a temporary name and renamed, so a crash leaves no
/// half file under the real name), then the row. The same photo twice on one case is one photo.
pub async fn add(db: &Db, dir: &Path, case_id: Uuid, district: &str, uploader: &str, bytes: &[u8]) -> AppResult<AttachmentRow> {
    if bytes.is_empty() || bytes.len() > MAX_BYTES {
        return Err(AppError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "照片不能为空，且不超过10MB",
        ));
    }
    let mime = sniff(bytes).ok_or_else(|| {
        AppError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_image",
            "只接受 JPEG、PNG 或 WebP 格式的照片",
        )
    })?;
    let sha = sha256_hex(bytes);
    let path = path_of(dir, &sha);
    if !path.exists() {
        let parent = path.parent().ok_or_else(AppError::internal)?;
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| anyhow::anyhow!("create {}: {e}", parent.display()))?;
        let tmp = parent.join(format!(".{sha}.{}", Uuid::now_v7()));
        tokio::fs::write(&tmp, bytes)
            .await
            .map_err(|e| anyhow::anyhow!("write {}: {e}", tmp.display()))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| anyhow::anyhow!("rename {}: {e}", path.display()))?;
    }
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
    .bind(uploader)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    });
    match inserted {
        Ok(_) => tx.commit().await?,
        Err(e) if crate::db::is_unique_violation(&e) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(AttachmentRow {
        sha256: sha,
        mime: mime.into(),
        size: bytes.len() as i64,
        uploaded_by: uploader.into(),
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
