//! Files of a plan version (设计图纸): PDF, JPEG, PNG or WebP up to 10 MB, recognised by their bytes,
//! stored once per content hash under `<data dir>/renovation/`, served to whoever sees the project.

use std::path::{Path, PathBuf};

use serde_json::json;
use uuid::Uuid;

use super::service::Loaded;
use crate::audit;
use crate::auth::Principal;
use crate::cases::attachments::{sha256_hex, sniff};
use crate::db::{Db, now_ms};
use crate::error::{AppError, AppResult};
use crate::{on_pool, on_tx};

pub const MAX_BYTES: usize = 10 * 1024 * 1024;
pub const NAME_MAX: usize = 100;

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct FileRow {
    pub version: i64,
    pub sha256: String,
    pub mime: String,
    pub size: i64,
    pub name: String,
    pub uploaded_by: String,
    pub created_at: i64,
}

/// The file's type, or why it is refused (empty, over 10 MB, not PDF/JPEG/PNG/WebP).
pub fn check(bytes: &[u8]) -> AppResult<&'static str> {
    if bytes.is_empty() || bytes.len() > MAX_BYTES {
        return Err(AppError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "文件不能为空，且不超过10MB",
        ));
    }
    if bytes.starts_with(b"%PDF-") {
        return Ok("application/pdf");
    }
    sniff(bytes).ok_or_else(|| {
        AppError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_file",
            "只接受 PDF、JPEG、PNG 或 WebP 格式的文件",
        )
    })
}

/// A file name as shown: the last path part, no control characters, at most 100 characters;
/// a default from the type when none is given.
pub fn clean_name(raw: &str, mime: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let name: String = base.chars().filter(|c| !c.is_control()).take(NAME_MAX).collect();
    if name.is_empty() {
        match mime {
            "application/pdf" => "方案.pdf".into(),
            _ => "图纸".into(),
        }
    } else {
        name
    }
}

fn path_of(dir: &Path, sha: &str) -> PathBuf {
    dir.join("renovation").join(&sha[..2]).join(sha)
}

/// Write under the SHA-256 (a temporary name, synced, renamed); an intact existing file is kept.
fn store_file(dir: &Path, bytes: &[u8]) -> anyhow::Result<String> {
    use std::io::Write;
    let sha = sha256_hex(bytes);
    let path = path_of(dir, &sha);
    if std::fs::read(&path).is_ok_and(|b| b.len() == bytes.len() && sha256_hex(&b) == sha) {
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
    Ok(sha)
}

pub async fn list(db: &Db, project: Uuid) -> sqlx::Result<Vec<FileRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, FileRow>(
        "SELECT version, sha256, mime, size, name, uploaded_by, created_at FROM renovation_plan_files \
         WHERE project_id = $1 ORDER BY version, created_at, sha256"
    )
    .bind(project)
    .fetch_all(p)
    .await)
}

/// Add a file to plan `version` (managers only). The same bytes twice on one version are one file.
pub async fn add(db: &Db, dir: &Path, p: &Principal, l: &Loaded, version: i64, name: &str, bytes: &[u8]) -> AppResult<FileRow> {
    if l.manage.is_none() {
        return Err(AppError::forbidden());
    }
    let exists = super::store::plans(db, l.project.id).await?.iter().any(|x| x.version == version);
    if !exists {
        return Err(AppError::not_found("方案版本"));
    }
    let mime = check(bytes)?;
    let name = clean_name(name, mime);
    let (owned, root) = (bytes.to_vec(), dir.to_path_buf());
    let sha = tokio::task::spawn_blocking(move || store_file(&root, &owned))
        .await
        .map_err(|e| anyhow::anyhow!("file writer: {e}"))??;
    let now = now_ms();
    let mut tx = db.begin().await?;
    let inserted = on_tx!(&mut tx, |c| sqlx::query(
        "INSERT INTO renovation_plan_files (project_id, version, district, sha256, mime, size, name, uploaded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (project_id, version, sha256) DO NOTHING"
    )
    .bind(l.project.id)
    .bind(version)
    .bind(&l.project.district)
    .bind(&sha)
    .bind(mime)
    .bind(bytes.len() as i64)
    .bind(&name)
    .bind(&p.display_name)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    if inserted == 1 {
        let pid = l.project.id.to_string();
        audit::record(
            &mut tx,
            p.actor(),
            audit::Entry {
                district: &p.district,
                action: "renovation.file",
                target_kind: "renovation",
                target_id: &pid,
                reason: "",
                detail: json!({"version": version, "sha256": sha, "mime": mime, "size": bytes.len()}),
            },
        )
        .await?;
        tx.commit().await?;
    }
    Ok(FileRow {
        version,
        sha256: sha,
        mime: mime.into(),
        size: bytes.len() as i64,
        name,
        uploaded_by: p.display_name.clone(),
        created_at: now,
    })
}

/// The bytes, type and name of a file of this project.
pub async fn read(db: &Db, dir: &Path, project: Uuid, sha: &str) -> AppResult<(String, String, Vec<u8>)> {
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::not_found("文件"));
    }
    let row: Option<(String, String)> = on_pool!(db, |p| sqlx::query_as(
        "SELECT mime, name FROM renovation_plan_files WHERE project_id = $1 AND sha256 = $2 ORDER BY version LIMIT 1"
    )
    .bind(project)
    .bind(sha)
    .fetch_optional(p)
    .await)?;
    let (mime, name) = row.ok_or_else(|| AppError::not_found("文件"))?;
    let bytes = tokio::fs::read(path_of(dir, sha)).await.map_err(|_| AppError::not_found("文件"))?;
    Ok((mime, name, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_recognised_by_their_bytes() {
        assert_eq!(check(b"%PDF-1.7 ...").unwrap(), "application/pdf");
        assert_eq!(check(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0]).unwrap(), "image/png");
        assert_eq!(check(b"not a plan").unwrap_err().code, "invalid_file");
        assert_eq!(check(b"").unwrap_err().code, "too_large");
        assert_eq!(check(&vec![b'%'; MAX_BYTES + 1]).unwrap_err().code, "too_large");
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name("C:\\图纸\\总平面.pdf", "application/pdf"), "总平面.pdf");
        assert_eq!(clean_name("../../etc/passwd", "image/png"), "passwd");
        assert_eq!(clean_name("", "application/pdf"), "方案.pdf");
        assert_eq!(clean_name("a\u{7}b", "image/png"), "ab");
        assert_eq!(clean_name(&"字".repeat(300), "image/png").chars().count(), NAME_MAX);
    }
}
