//! Identity numbers and phones: GB 11643 citizen ID, GB 32100 credit code, mobile numbers, masking.
//! Pure functions, no I/O.

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// Why a citizen ID number (公民身份号码) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdNumberError {
    Length,
    Characters,
    Region,
    BirthDate,
    CheckDigit,
}

impl IdNumberError {
    pub fn message(self) -> &'static str {
        match self {
            IdNumberError::Length => "身份证号码应为18位",
            IdNumberError::Characters => "身份证号码前17位应为数字，末位为数字或X",
            IdNumberError::Region => "身份证号码的地址码无效",
            IdNumberError::BirthDate => "身份证号码中的出生日期无效",
            IdNumberError::CheckDigit => "身份证号码校验位不正确",
        }
    }
}

/// The GB 11643 check character for the first 17 digits.
pub fn id_check_char(first17: &[u8]) -> char {
    let sum: u32 = first17.iter().zip(ID_WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    ID_CHECK[(sum % 11) as usize] as char
}

/// A validated 18-digit citizen ID number, upper-cased. Returns the birth date (YYYY-MM-DD) and
/// gender it encodes as well.
pub fn parse_id_number(raw: &str) -> Result<(String, String, &'static str), IdNumberError> {
    let s = raw.trim().to_ascii_uppercase();
    if s.chars().count() != 18 {
        return Err(IdNumberError::Length);
    }
    let b = s.as_bytes();
    if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
        return Err(IdNumberError::Characters);
    }
    if !(b'1'..=b'8').contains(&b[0]) || &b[2..6] == b"0000" {
        return Err(IdNumberError::Region);
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
    let (y, m, d) = (num(6..10), num(10..12), num(12..14));
    if !valid_date(y, m, d) || !(1900..=2100).contains(&y) {
        return Err(IdNumberError::BirthDate);
    }
    if id_check_char(&b[..17]) != b[17] as char {
        return Err(IdNumberError::CheckDigit);
    }
    let gender = if (b[16] - b'0') % 2 == 1 { "male" } else { "female" };
    Ok((s.clone(), format!("{y:04}-{m:02}-{d:02}"), gender))
}

pub fn valid_date(y: u32, m: u32, d: u32) -> bool {
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// A mainland mobile number: 11 digits starting 13–19. Spaces and dashes are dropped.
pub fn parse_mobile(raw: &str) -> Option<String> {
    let s: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let s = s.strip_prefix("+86").unwrap_or(&s).to_string();
    let b = s.as_bytes();
    (b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && b.iter().all(u8::is_ascii_digit)).then_some(s)
}

/// A public contact number: a mobile, or a landline such as 0394-8211234.
pub fn parse_contact_phone(raw: &str) -> Option<String> {
    if let Some(m) = parse_mobile(raw) {
        return Some(m);
    }
    let s = raw.trim();
    let (area, local) = s.split_once('-').unwrap_or(("", s));
    let ok_area = area.is_empty() || (area.starts_with('0') && (3..=4).contains(&area.len()));
    let ok =
        ok_area && area.bytes().all(|c| c.is_ascii_digit()) && (7..=8).contains(&local.len()) && local.bytes().all(|c| c.is_ascii_digit());
    ok.then(|| s.to_string())
}

/// `4116**********123X`: first four and last four kept.
pub fn mask_id_number(id: &str) -> String {
    let c: Vec<char> = id.chars().collect();
    if c.len() <= 8 {
        return "*".repeat(c.len());
    }
    let mut out: String = c[..4].iter().collect();
    out.push_str(&"*".repeat(c.len() - 8));
    out.extend(&c[c.len() - 4..]);
    out
}

/// `138****5678`: first three and last four kept.
pub fn mask_phone(phone: &str) -> String {
    let c: Vec<char> = phone.chars().collect();
    if c.len() <= 7 {
        return "*".repeat(c.len());
    }
    let mut out: String = c[..3].iter().collect();
    out.push_str(&"*".repeat(c.len() - 7));
    out.extend(&c[c.len() - 4..]);
    out
}

const CREDIT_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

fn credit_value(c: u8) -> Option<u32> {
    CREDIT_CHARS.iter().position(|&x| x == c).map(|p| p as u32)
}

/// The GB 32100 check character for the first 17 characters, or None if one is not allowed.
pub fn credit_check_char(first17: &[u8]) -> Option<char> {
    let mut sum = 0;
    for (c, w) in first17.iter().zip(CREDIT_WEIGHTS) {
        sum += credit_value(*c)? * w;
    }
    let v = (31 - sum % 31) % 31;
    Some(CREDIT_CHARS[v as usize] as char)
}

/// A validated 18-character unified social credit code (统一社会信用代码), upper-cased.
pub fn parse_credit_code(raw: &str) -> Result<String, &'static str> {
    let s = raw.trim().to_ascii_uppercase();
    let b = s.as_bytes();
    if b.len() != 18 {
        return Err("统一社会信用代码应为18位");
    }
    if !b.iter().all(|c| credit_value(*c).is_some()) {
        return Err("统一社会信用代码含有不允许的字符（不使用I、O、Z、S、V）");
    }
    if !b[2..8].iter().all(u8::is_ascii_digit) {
        return Err("统一社会信用代码第3至8位应为行政区划代码");
    }
    if credit_check_char(&b[..17]) != Some(b[17] as char) {
        return Err("统一社会信用代码校验位不正确");
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_id_numbers() {
        // The example number printed in GB 11643-1999.
        let (id, birth, gender) = parse_id_number("11010519491231002X").unwrap();
        assert_eq!(id, "11010519491231002X");
        assert_eq!(birth, "1949-12-31");
        assert_eq!(gender, "female");
        assert_eq!(parse_id_number("11010519491231002x").unwrap().0, "11010519491231002X");
        assert_eq!(parse_id_number("110105194912310021"), Err(IdNumberError::CheckDigit));
        assert_eq!(parse_id_number("1101051949123100"), Err(IdNumberError::Length));
        assert_eq!(parse_id_number("11010519491332002X"), Err(IdNumberError::BirthDate));
        assert_eq!(parse_id_number("11010519490229002X").unwrap_err(), IdNumberError::BirthDate);
        assert_eq!(parse_id_number("9101051949123100AX"), Err(IdNumberError::Characters));
        assert_eq!(parse_id_number("910105194912310021"), Err(IdNumberError::Region));
    }

    #[test]
    fn known_credit_codes() {
        // Published codes of real organisations.
        assert!(parse_credit_code("91350100M000100Y43").is_ok());
        assert!(parse_credit_code("91110000802100433B").is_ok());
        assert!(parse_credit_code("91110000802100433C").is_err());
        assert!(parse_credit_code("91110000802100433").is_err());
        assert!(parse_credit_code("9111000080210043IB").is_err());
    }

    #[test]
    fn phones_and_masks() {
        assert_eq!(parse_mobile("138 1234 5678").as_deref(), Some("13812345678"));
        assert_eq!(parse_mobile("+8613812345678").as_deref(), Some("13812345678"));
        assert_eq!(parse_mobile("12812345678"), None);
        assert_eq!(parse_mobile("1381234567"), None);
        assert_eq!(parse_contact_phone("0394-8211234").as_deref(), Some("0394-8211234"));
        assert_eq!(parse_contact_phone("394-8211234"), None);
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_id_number("41160219800101123X"), "4116**********123X");
    }

    proptest! {
        #[test]
        fn any_17_digits_get_a_valid_check(region in 110000u32..=659999, y in 1900u32..2100, m in 1u32..=12, d in 1u32..=28, seq in 0u32..1000) {
            // A province alone (city and county 0000) is not an address code; those are refused.
            prop_assume!(region % 10_000 != 0);
            let first17 = format!("{region:06}{y:04}{m:02}{d:02}{seq:03}");
            let id = format!("{first17}{}", id_check_char(first17.as_bytes()));
            let (parsed, birth, _) = parse_id_number(&id).unwrap();
            prop_assert_eq!(&parsed, &id);
            prop_assert_eq!(birth, format!("{y:04}-{m:02}-{d:02}"));
            // Every other check character is refused.
            for c in ID_CHECK.iter().map(|c| *c as char).filter(|c| *c != id.chars().last().unwrap()) {
                let wrong = format!("{first17}{c}");
                prop_assert_eq!(parse_id_number(&wrong), Err(IdNumberError::CheckDigit));
            }
        }

        #[test]
        fn single_digit_change_is_caught(seq in 0u32..1000, pos in 0usize..17, delta in 1u8..10) {
            let first17 = format!("41160219850612{seq:03}");
            let id = format!("{first17}{}", id_check_char(first17.as_bytes()));
            let mut b = id.clone().into_bytes();
            b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(b).unwrap();
            prop_assert!(parse_id_number(&changed).is_err());
        }

        #[test]
        fn masks_keep_length_and_ends(id in "[1-8][0-9]{16}[0-9X]", phone in "1[3-9][0-9]{9}") {
            let m = mask_id_number(&id);
            prop_assert_eq!(m.len(), 18);
            prop_assert_eq!(&m[..4], &id[..4]);
            prop_assert_eq!(&m[14..], &id[14..]);
            prop_assert!(m[4..14].chars().all(|c| c == '*'));
            let p = mask_phone(&phone);
            prop_assert_eq!(p.len(), 11);
            prop_assert_eq!(&p[7..], &phone[7..]);
            prop_assert_eq!(&p[3..7], "****");
        }

        #[test]
        fn credit_code_roundtrip(body in "[0-9A-HJ-NP-RTUWXY]{17}") {
            let check = credit_check_char(body.as_bytes()).unwrap();
            let code = format!("{body}{check}");
            if code.as_bytes()[2..8].iter().all(u8::is_ascii_digit) {
                prop_assert!(parse_credit_code(&code).is_ok());
            }
            let wrong = CREDIT_CHARS.iter().map(|c| *c as char).find(|c| *c != check).unwrap();
            let wrong_code = format!("{body}{wrong}");
            prop_assert!(parse_credit_code(&wrong_code).is_err());
        }
    }
}
