//! Reading imports: the first sheet of an `.xlsx`, its Chinese headers mapped to the ledger's
//! columns, every cell as normalised text, every bad row collected as `{row, column, message}`.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

use super::BoxFuture;
use crate::auth::Principal;
use crate::db::Db;
use crate::error::{AppError, AppResult};

/// The largest file taken (bytes).
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
/// The most data rows taken in one file.
pub const MAX_ROWS: usize = 50_000;
/// The longest cell read (characters); longer is a row error.
pub const MAX_CELL: usize = 500;

/// A column of an import.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The Chinese header, as in the template.
    pub header: &'static str,
    pub required: bool,
    pub example: &'static str,
    /// What to write, for the template's second sheet.
    pub note: &'static str,
}

impl Column {
    /// The header as the template shows it (required ones marked ＊).
    pub fn header_label(&self) -> String {
        if self.required {
            format!("{}＊", self.header)
        } else {
            self.header.to_string()
        }
    }
}

/// One data row: its row number in Excel (from 1, the header is row 1) and its cells as text,
/// in the import's column order ("" when empty or absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub row: u32,
    pub cells: Vec<String>,
}

impl Record {
    pub fn get(&self, i: usize) -> &str {
        self.cells.get(i).map_or("", String::as_str)
    }
}

/// A bad row: where, and why in Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RowError {
    pub row: u32,
    pub column: String,
    pub message: String,
}

impl RowError {
    pub fn new(row: u32, column: &str, message: impl Into<String>) -> RowError {
        RowError {
            row,
            column: column.to_string(),
            message: message.into(),
        }
    }
}

/// What an import did (or, on a dry run, would do).
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    /// Data rows read.
    pub rows: usize,
    /// Rows stored (0 on a dry run or when any row is bad).
    pub created: usize,
    /// Rows already stored by an earlier import of the same data (matched by their natural key).
    pub skipped: usize,
    pub dry_run: bool,
    pub errors: Vec<RowError>,
}

/// A ledger that imports from Excel. `run` checks every record (collecting every bad row), and
/// unless it is a dry run or a row is bad, stores them all in one transaction.
pub trait Import: Send + Sync {
    fn name(&self) -> &'static str;
    fn title(&self) -> &'static str;
    fn columns(&self) -> &'static [Column];
    /// Whether this person may import this ledger at all (the rows' own scope is checked by `run`).
    fn allowed(&self, p: &Principal) -> bool;
    fn run<'a>(&'a self, db: &'a Db, p: &'a Principal, records: Vec<Record>, dry_run: bool) -> BoxFuture<'a, AppResult<Outcome>>;
}

/// Text as people type it: NFKC (full-width digits and letters to ASCII, ideographic spaces),
/// trimmed.
pub fn normalise(s: &str) -> String {
    s.nfkc().collect::<String>().trim().to_string()
}

/// A header as written, without the required mark or spaces.
fn header_key(s: &str) -> String {
    normalise(s)
        .trim_end_matches(['*', '＊'])
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// Excel's day number to a date (`2024-03-01`, with the time when it has one).
fn excel_date(days: f64) -> String {
    let whole = days.floor();
    let base = jiff::civil::date(1899, 12, 30);
    let Ok(d) = base.checked_add(jiff::Span::new().days(whole as i64)) else {
        return days.to_string();
    };
    let secs = ((days - whole) * 86_400.0).round() as i64;
    if secs == 0 {
        d.to_string()
    } else {
        format!("{d} {:02}:{:02}", secs / 3600, (secs % 3600) / 60)
    }
}

/// One cell as text, or why it cannot be read.
fn cell_text(d: &Data) -> Result<String, &'static str> {
    Ok(match d {
        Data::Empty => String::new(),
        Data::String(s) => normalise(s),
        Data::Int(n) => n.to_string(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else if f.fract() == 0.0 {
                return Err("数字位数过多，Excel已丢失末几位（如身份证号），请将该列设为文本格式后重新填写");
            } else {
                f.to_string()
            }
        }
        Data::Bool(b) => (if *b { "是" } else { "否" }).to_string(),
        Data::DateTime(dt) => excel_date(dt.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => normalise(s),
        Data::Error(_) => return Err("单元格是Excel错误值（如#N/A），请改为实际内容"),
    })
}

/// Read an upload: refuse what is not an `.xlsx` or too big, map the header row to `columns`
/// (a required column missing is an error at row 1), read every non-empty row.
pub fn read(bytes: &[u8], columns: &[Column]) -> AppResult<(Vec<Record>, Vec<RowError>)> {
    if bytes.len() > MAX_BYTES {
        return Err(AppError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
            format!("文件不能超过{}MB", MAX_BYTES / 1024 / 1024),
        ));
    }
    let not_xlsx = || {
        AppError::invalid(
            "not_xlsx",
            "请上传Excel工作簿（.xlsx），可先下载模板填写；.xls或CSV请在Excel中另存为.xlsx",
        )
    };
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err(not_xlsx());
    }
    let mut wb = Xlsx::new(Cursor::new(bytes)).map_err(|_| not_xlsx())?;
    let range = wb.worksheet_range_at(0).ok_or_else(not_xlsx)?.map_err(|_| not_xlsx())?;
    let first_row = range.start().map_or(0, |(r, _)| r);
    let mut rows = range.rows();
    let Some(header) = rows.next() else {
        return Err(AppError::invalid("empty_file", "文件是空的：第1行应为列名，从第2行起每行一条"));
    };
    let header_row = first_row + 1;
    let first_col = range.start().map_or(0, |(_, c)| c) as usize;
    let keys: Vec<String> = header
        .iter()
        .map(|d| cell_text(d).map(|s| header_key(&s)).unwrap_or_default())
        .collect();
    let mut errors = Vec::new();
    let mut at: Vec<Option<usize>> = Vec::with_capacity(columns.len());
    for c in columns {
        let found = keys.iter().position(|k| k == c.header).map(|i| i + first_col);
        if found.is_none() && c.required {
            errors.push(RowError::new(
                header_row,
                c.header,
                format!("缺少必填列「{}」（请使用模板的列名）", c.header),
            ));
        }
        at.push(found);
    }
    if !errors.is_empty() {
        return Ok((Vec::new(), errors));
    }
    let mut records = Vec::new();
    for (i, row) in rows.enumerate() {
        let excel_row = header_row + 1 + i as u32;
        let mut cells = Vec::with_capacity(columns.len());
        let mut bad = false;
        for (c, pos) in columns.iter().zip(&at) {
            let d = pos.and_then(|p| row.get(p - first_col)).unwrap_or(&Data::Empty);
            match cell_text(d) {
                Ok(s) if s.chars().count() > MAX_CELL => {
                    errors.push(RowError::new(excel_row, c.header, format!("内容过长（不超过{MAX_CELL}字）")));
                    bad = true;
                    cells.push(String::new());
                }
                Ok(s) => cells.push(s),
                Err(m) => {
                    errors.push(RowError::new(excel_row, c.header, m));
                    bad = true;
                    cells.push(String::new());
                }
            }
        }
        if !bad && cells.iter().all(String::is_empty) {
            continue;
        }
        if records.len() >= MAX_ROWS {
            return Err(AppError::invalid(
                "too_many_rows",
                format!("一次最多导入{MAX_ROWS}行，请分成几个文件"),
            ));
        }
        records.push(Record { row: excel_row, cells });
    }
    Ok((records, errors))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const COLS: &[Column] = &[
        Column {
            header: "姓名",
            required: true,
            example: "张三",
            note: "",
        },
        Column {
            header: "手机号",
            required: false,
            example: "13800000000",
            note: "",
        },
    ];

    fn sheet(cells: &[&[&str]]) -> Vec<u8> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (r, row) in cells.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                if let Ok(n) = v.parse::<f64>() {
                    ws.write_number(r as u32, c as u16, n).unwrap();
                } else {
                    ws.write_string(r as u32, c as u16, *v).unwrap();
                }
            }
        }
        wb.save_to_buffer().unwrap()
    }

    #[test]
    fn headers_map_in_any_order_and_rows_keep_their_numbers() {
        let f = sheet(&[
            &["手机号", "姓名＊", "备注"],
            &["13812345678", "张三", "x"],
            &["", "", ""],
            &["", "李四", ""],
        ]);
        let (recs, errs) = read(&f, COLS).unwrap();
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(recs.len(), 2);
        assert_eq!(
            recs[0],
            Record {
                row: 2,
                cells: vec!["张三".into(), "13812345678".into()]
            }
        );
        assert_eq!(recs[1].row, 4, "an empty row is skipped but counted");
    }

    #[test]
    fn a_missing_required_column_and_lost_digits_are_row_errors() {
        let f = sheet(&[&["手机号"], &["13812345678"]]);
        let (_, errs) = read(&f, COLS).unwrap();
        assert_eq!(errs, vec![RowError::new(1, "姓名", "缺少必填列「姓名」（请使用模板的列名）")]);
        let f = sheet(&[&["姓名", "手机号"], &["张三", "411602199001011234"]]);
        let (_, errs) = read(&f, COLS).unwrap();
        assert_eq!(errs.len(), 1);
        assert_eq!((errs[0].row, errs[0].column.as_str()), (2, "手机号"));
    }

    #[test]
    fn not_an_xlsx_is_refused() {
        assert_eq!(read(b"name,phone\n", COLS).unwrap_err().code, "not_xlsx");
        assert_eq!(read(b"PK\x03\x04garbage", COLS).unwrap_err().code, "not_xlsx");
    }

    #[test]
    fn dates_read_as_dates() {
        assert_eq!(excel_date(45352.0), "2024-03-01");
        assert_eq!(excel_date(45352.5), "2024-03-01 12:00");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        // Outside input: any bytes are read or refused, never a panic.
        #[test]
        fn any_bytes_are_read_or_refused(mut b in proptest::collection::vec(any::<u8>(), 0..2048), zip in any::<bool>()) {
            if zip && b.len() >= 4 {
                b[..4].copy_from_slice(b"PK\x03\x04");
            }
            let _ = read(&b, COLS);
        }
    }
}
