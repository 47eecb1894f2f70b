//! Writing `.xlsx` files: a streamed export (rows to a temporary file as they come, the zip
//! streamed to the client in chunks) and an import template.

use std::io::Write;

use axum::body::{Body, Bytes};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use tokio::sync::{mpsc, oneshot};

use super::import::Column;
use super::{Cell, Row, Sink, Writer};

/// Excel's last row, less the header.
const MAX_ROWS: u32 = 1_048_575;
/// Bytes sent to the client at a time.
const CHUNK: usize = 64 * 1024;

fn header_format() -> Format {
    Format::new().set_bold().set_background_color(0xDDEBF7)
}

/// A column's width in Excel's units: Chinese characters count twice.
fn width(header: &str) -> f64 {
    let w: usize = header.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum();
    (w as f64 + 4.0).clamp(10.0, 40.0)
}

fn write_headers(ws: &mut Worksheet, headers: &[&str]) -> Result<(), XlsxError> {
    let bold = header_format();
    for (i, h) in headers.iter().enumerate() {
        let col = i as u16;
        ws.set_column_width(col, width(h))?;
        ws.write_string_with_format(0, col, *h, &bold)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn write_row(ws: &mut Worksheet, r: u32, row: Row) -> Result<(), XlsxError> {
    for (i, cell) in row.into_iter().enumerate() {
        let col = i as u16;
        match cell {
            Cell::Text(s) if !s.is_empty() => {
                ws.write_string(r, col, s)?;
            }
            Cell::Int(n) => {
                ws.write_number(r, col, n as f64)?;
            }
            Cell::Num(n) => {
                ws.write_number(r, col, n)?;
            }
            Cell::Text(_) | Cell::Empty => {}
        }
    }
    Ok(())
}

/// Sends what the workbook writes to the response body, a chunk at a time.
struct ChunkWriter {
    tx: mpsc::Sender<std::io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// Stream an export: `writer` pushes rows (a task of its own), a blocking thread writes them to
/// a constant-memory worksheet (a temporary file), then zips the workbook into the body. An
/// error after the first byte ends the body with an error, so the client sees a broken download,
/// never a short file that looks whole.
pub fn stream(title: &'static str, headers: &'static [&'static str], writer: Writer) -> Body {
    let (rows_tx, mut rows_rx) = mpsc::channel::<Vec<Row>>(4);
    let (bytes_tx, bytes_rx) = mpsc::channel::<std::io::Result<Bytes>>(8);
    let (done_tx, done_rx) = oneshot::channel::<bool>();
    tokio::spawn(async move {
        let ok = match writer(Sink::new(rows_tx)).await {
            Ok(sink) => sink.finish().await.is_ok(),
            Err(e) => {
                tracing::warn!(ledger = title, code = e.code, "export rows failed");
                false
            }
        };
        let _ = done_tx.send(ok);
    });
    tokio::task::spawn_blocking(move || {
        let run = || -> Result<(), String> {
            let mut wb = Workbook::new();
            let ws = wb.add_worksheet_with_constant_memory().map_err(|e| e.to_string())?;
            ws.set_name(title).map_err(|e| e.to_string())?;
            write_headers(ws, headers).map_err(|e| e.to_string())?;
            let mut r = 1u32;
            while let Some(batch) = rows_rx.blocking_recv() {
                for row in batch {
                    if r > MAX_ROWS {
                        return Err("more rows than a sheet holds".into());
                    }
                    write_row(ws, r, row).map_err(|e| e.to_string())?;
                    r += 1;
                }
            }
            if !done_rx.blocking_recv().unwrap_or(false) {
                return Err("rows failed".into());
            }
            let mut out = ChunkWriter {
                tx: bytes_tx.clone(),
                buf: Vec::with_capacity(CHUNK),
            };
            wb.save_to_writer(&mut out).map_err(|e| e.to_string())?;
            out.flush().map_err(|e| e.to_string())
        };
        if let Err(e) = run() {
            tracing::warn!(ledger = title, error = %e, "export failed");
            let _ = bytes_tx.blocking_send(Err(std::io::Error::other("export failed")));
        }
    });
    // Fused: a layer (compression) may poll once more after the end.
    Body::from_stream(futures_util::StreamExt::fuse(futures_util::stream::unfold(
        bytes_rx,
        |mut rx| async move { rx.recv().await.map(|item| (item, rx)) },
    )))
}

/// The import template: the headers on the first sheet (required ones marked ＊, columns of
/// numbers kept as text so Excel does not round an ID number), and a second sheet explaining
/// each column with an example.
pub fn template(title: &str, columns: &[Column]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let text = Format::new().set_num_format("@");
    let bold = header_format();
    {
        let ws = wb.add_worksheet();
        ws.set_name(title)?;
        for (i, c) in columns.iter().enumerate() {
            let col = i as u16;
            let h = c.header_label();
            ws.set_column_width(col, width(&h).max(width(c.example)))?;
            ws.set_column_format(col, &text)?;
            ws.write_string_with_format(0, col, h, &bold)?;
        }
        ws.set_freeze_panes(1, 0)?;
    }
    let ws = wb.add_worksheet();
    ws.set_name("填写说明")?;
    for (i, h) in ["列名", "是否必填", "示例", "说明"].iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *h, &bold)?;
    }
    ws.set_column_width(0, 16)?;
    ws.set_column_width(2, 24)?;
    ws.set_column_width(3, 60)?;
    for (i, c) in columns.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, c.header)?;
        ws.write_string(r, 1, if c.required { "必填" } else { "选填" })?;
        ws.write_string(r, 2, c.example)?;
        ws.write_string(r, 3, c.note)?;
    }
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_count_chinese_twice_and_stay_bounded() {
        assert_eq!(width("ID"), 10.0);
        assert_eq!(width("身份证号码"), 14.0);
        assert_eq!(width(&"长".repeat(40)), 40.0);
    }
}
