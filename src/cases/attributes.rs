//! A category's extra questions (Open311 service attributes) and checking a report's answers. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The kinds of answer the GeoReport v2 service definition names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Datatype {
    String,
    Number,
    Datetime,
    Text,
    Singlevaluelist,
    Multivaluelist,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Choice {
    pub key: String,
    pub name: String,
}

/// One question asked when reporting in a category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Field {
    /// Stable code, e.g. `floor`.
    pub code: String,
    pub datatype: Datatype,
    #[serde(default)]
    pub required: bool,
    /// The question, in Chinese (e.g. 所在楼层).
    pub description: String,
    /// For the list kinds: the allowed answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Choice>,
}

/// Parse and check a category's stored field list (JSON).
pub fn parse_fields(json: &str) -> Vec<Field> {
    serde_json::from_str(json).unwrap_or_default()
}

/// Check a field list a district wants to save: codes unique and simple, lists with choices.
pub fn check_fields(fields: &[Field]) -> Result<(), AppError> {
    let mut seen = std::collections::BTreeSet::new();
    for f in fields {
        let code_ok = !f.code.is_empty()
            && f.code.len() <= 32
            && f.code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && seen.insert(f.code.as_str());
        if !code_ok {
            return Err(AppError::invalid(
                "invalid_field",
                format!("字段编码「{}」应为不重复的字母、数字或下划线（至多32个）", f.code),
            ));
        }
        if f.description.trim().is_empty() || f.description.chars().count() > 100 {
            return Err(AppError::invalid("invalid_field", format!("字段「{}」的说明应为1至100字", f.code)));
        }
        let is_list = matches!(f.datatype, Datatype::Singlevaluelist | Datatype::Multivaluelist);
        if is_list == f.values.is_empty() {
            return Err(AppError::invalid(
                "invalid_field",
                format!("字段「{}」：只有单选、多选字段有选项，且至少一个", f.code),
            ));
        }
    }
    if fields.len() > 20 {
        return Err(AppError::invalid("invalid_field", "每个类别至多20个字段"));
    }
    Ok(())
}

/// Check a report's answers against the fields; returns them as stored (lists as arrays).
/// Unknown codes are refused, so a typo is not silently dropped.
pub fn check_answers(fields: &[Field], answers: &BTreeMap<String, Vec<String>>) -> Result<serde_json::Value, AppError> {
    let mut out = serde_json::Map::new();
    for code in answers.keys() {
        if !fields.iter().any(|f| &f.code == code) {
            return Err(AppError::invalid("unknown_attribute", format!("该类别没有字段「{code}」")));
        }
    }
    for f in fields {
        let given: Vec<&str> = answers
            .get(&f.code)
            .map(|v| v.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        if given.is_empty() {
            if f.required {
                return Err(AppError::invalid(
                    "attribute_required",
                    format!("请填写「{}」（{}）", f.description, f.code),
                ));
            }
            continue;
        }
        let bad = |why: &str| AppError::invalid("invalid_attribute", format!("「{}」（{}）{why}", f.description, f.code));
        if f.datatype != Datatype::Multivaluelist && given.len() > 1 {
            return Err(bad("只能填一个值"));
        }
        let value = match f.datatype {
            Datatype::String if given[0].chars().count() > 200 => return Err(bad("不超过200字")),
            Datatype::Text if given[0].chars().count() > 2000 => return Err(bad("不超过2000字")),
            Datatype::String | Datatype::Text => serde_json::Value::String(given[0].to_string()),
            Datatype::Number => match crate::identity::half_width(given[0]).parse::<f64>() {
                Ok(n) if n.is_finite() => serde_json::Value::String(crate::identity::half_width(given[0])),
                _ => return Err(bad("应为数字")),
            },
            Datatype::Datetime => match given[0].parse::<jiff::Timestamp>() {
                Ok(_) => serde_json::Value::String(given[0].to_string()),
                Err(_) => return Err(bad("应为带时区的时间，如 2026-11-24T09:30:00+08:00")),
            },
            Datatype::Singlevaluelist | Datatype::Multivaluelist => {
                for g in &given {
                    if !f.values.iter().any(|c| c.key == *g) {
                        return Err(bad(&format!("没有选项「{g}」")));
                    }
                }
                if f.datatype == Datatype::Singlevaluelist {
                    serde_json::Value::String(given[0].to_string())
                } else {
                    given.iter().map(|g| serde_json::Value::String(g.to_string())).collect()
                }
            }
        };
        out.insert(f.code.clone(), value);
    }
    Ok(serde_json::Value::Object(out))
}

/// The seeded questions of some default categories: (category code, fields as JSON).
pub const DEFAULT_FIELDS: &[(&str, &str)] = &[
    (
        "SQ01",
        r#"[{"code":"kind","datatype":"singlevaluelist","required":false,"description":"问题类型",
            "values":[{"key":"garbage","name":"垃圾堆积"},{"key":"sewage","name":"污水外溢"},{"key":"other","name":"其他"}]}]"#,
    ),
    (
        "SQ03",
        r#"[{"code":"floor","datatype":"number","required":false,"description":"所在楼层"},
            {"code":"vehicle","datatype":"singlevaluelist","required":false,"description":"车辆类型",
             "values":[{"key":"ebike","name":"电动自行车"},{"key":"emoto","name":"电动摩托车"},{"key":"other","name":"其他"}]}]"#,
    ),
    (
        "BJ01",
        r#"[{"code":"component_id","datatype":"string","required":false,"description":"部件编号（标牌上的编码）"}]"#,
    ),
];

/// Categories whose cases are private from the start: a dispute names neighbours.
pub const PRIVATE_CATEGORIES: &[&str] = &["SQ08"];

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<Field> {
        parse_fields(DEFAULT_FIELDS.iter().find(|(c, _)| *c == "SQ03").unwrap().1)
    }

    fn answers(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn seeded_fields_are_valid() {
        for (code, json) in DEFAULT_FIELDS {
            let f = parse_fields(json);
            assert!(!f.is_empty(), "{code}");
            check_fields(&f).unwrap();
        }
    }

    #[test]
    fn answers_are_checked_against_fields() {
        let f = fields();
        let ok = check_answers(&f, &answers(&[("floor", &["7"]), ("vehicle", &["ebike"])])).unwrap();
        assert_eq!(ok, serde_json::json!({"floor": "7", "vehicle": "ebike"}));
        assert_eq!(check_answers(&f, &answers(&[])).unwrap(), serde_json::json!({}));
        let mut required = f.clone();
        required[0].required = true;
        assert_eq!(check_answers(&required, &answers(&[])).unwrap_err().code, "attribute_required");
        assert_eq!(
            check_answers(&required, &answers(&[("floor", &[" "])])).unwrap_err().code,
            "attribute_required"
        );
        assert_eq!(
            check_answers(&f, &answers(&[("floor", &["七"])])).unwrap_err().code,
            "invalid_attribute"
        );
        assert_eq!(
            check_answers(&f, &answers(&[("floor", &["7"]), ("vehicle", &["car"])]))
                .unwrap_err()
                .code,
            "invalid_attribute"
        );
        assert_eq!(
            check_answers(&f, &answers(&[("floor", &["7"]), ("colour", &["red"])]))
                .unwrap_err()
                .code,
            "unknown_attribute"
        );
        assert_eq!(
            check_answers(&f, &answers(&[("floor", &["7", "8"])])).unwrap_err().code,
            "invalid_attribute"
        );
    }

    #[test]
    fn multivalue_lists_keep_every_choice() {
        let f = vec![Field {
            code: "kinds".into(),
            datatype: Datatype::Multivaluelist,
            required: true,
            description: "类型".into(),
            values: vec![
                Choice {
                    key: "a".into(),
                    name: "甲".into(),
                },
                Choice {
                    key: "b".into(),
                    name: "乙".into(),
                },
            ],
        }];
        let v = check_answers(&f, &answers(&[("kinds", &["a", "b"])])).unwrap();
        assert_eq!(v, serde_json::json!({"kinds": ["a", "b"]}));
    }

    #[test]
    fn bad_field_lists_are_refused() {
        let mut f = fields();
        f[1].values.clear();
        assert!(check_fields(&f).is_err());
        let mut f = fields();
        f[1].code = "floor".into();
        assert!(check_fields(&f).is_err());
        let mut f = fields();
        f[0].code = "楼层".into();
        assert!(check_fields(&f).is_err());
    }
}
