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
/// Full-width ASCII (`０１２`, `Ｘ`, `－`, what Chinese input methods type) and the ideographic
/// space as their ASCII forms, so a number is checked as the person meant it (the part of NFKC
/// that matters for digits, letters and punctuation).
pub fn half_width(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

pub fn parse_id_number(raw: &str) -> Result<(String, String, &'static str), IdNumberError> {
    let s = half_width(raw).trim().to_ascii_uppercase();
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
    let s: String = half_width(raw).chars().filter(|c| !matches!(c, ' ' | '-')).collect();
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

/// `41************123X`: the province's two digits and the last four kept. The county and the
/// whole birth date stay hidden, so a masked number beside a birth year leaves hundreds of
/// candidates rather than the ten that four leading digits and a full birth date left.
pub fn mask_id_number(id: &str) -> String {
    let c: Vec<char> = id.chars().collect();
    if c.len() <= 6 {
        return "*".repeat(c.len());
    }
    let mut out: String = c[..2].iter().collect();
    out.push_str(&"*".repeat(c.len() - 6));
    out.extend(&c[c.len() - 4..]);
    out
}

/// `王**`: a person's or a shop's name as lists and logs others read show it — the first
/// character kept, then one to three stars, so the length of a long name is not told either.
pub fn mask_name(name: &str) -> String {
    let mut c = name.trim().chars();
    match c.next() {
        Some(first) => format!("{first}{}", "*".repeat(c.count().clamp(1, 3))),
        None => String::new(),
    }
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

    #[test]
    fn full_width_digits_and_letters_read_as_ascii() {
        assert_eq!(half_width("１３８　１２３４－５６７８"), "138 1234-5678");
        assert_eq!(half_width("ｘＸ甲"), "xX甲");
        assert_eq!(parse_mobile("１３８１２３４５６７８").as_deref(), Some("13812345678"));
        let ascii = "11010519491231002X";
        let wide: String = ascii.chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap()).collect();
        assert_eq!(parse_id_number(&wide).map(|r| r.0), parse_id_number(ascii).map(|r| r.0));
        assert!(parse_id_number(ascii).is_ok());
    }

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
        assert_eq!(mask_name(" 王小明 "), "王**");
        assert_eq!(mask_name("王"), "王*", "a one-character name still shows a star");
        assert_eq!(mask_name("川汇区老城街道便民超市"), "川***", "a long name does not tell its length");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_id_number("41160219800101123X"), "41************123X");
    }

    /// The ID check character from the standard's definition (ISO 7064 MOD 11-2): weight
    /// 2^(17−i) mod 11, check value (12 − sum mod 11) mod 11, 10 written X. Computed apart from
    /// `id_check_char`'s tables so that a wrong table is caught.
    fn id_check_by_definition(first17: &str) -> char {
        let sum: u32 = first17
            .bytes()
            .enumerate()
            .map(|(i, d)| u32::from(d - b'0') * (2u32.pow(17 - i as u32) % 11))
            .sum();
        match (12 - sum % 11) % 11 {
            10 => 'X',
            v => char::from_digit(v, 10).unwrap(),
        }
    }

    /// The GB 32100 check character from its definition: weight 3^(i−1) mod 31, check value
    /// 31 − (sum mod 31), 31 written 0.
    fn credit_check_by_definition(first17: &str) -> char {
        let alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
        let sum: u32 = first17
            .chars()
            .enumerate()
            .map(|(i, c)| alphabet.find(c).unwrap() as u32 * (3u32.pow(i as u32) % 31))
            .sum();
        alphabet.chars().nth(((31 - sum % 31) % 31) as usize).unwrap()
    }

    fn days_in_month(y: u32, m: u32) -> u32 {
        jiff::civil::date(y as i16, m as i8, 1).days_in_month() as u32
    }

    /// An address code the parser accepts: province digit 1–8 and a city/county part other than
    /// 0000 (the module checks the code's shape, it holds no list of real codes).
    fn region() -> impl Strategy<Value = String> {
        (1u32..=8, 0u32..=9, 1u32..=9999).prop_map(|(p, c, rest)| format!("{p}{c}{rest:04}"))
    }

    /// A real date in 1900–2100; the century years and month ends (leap days among them) are
    /// drawn often, since that is where a date check goes wrong.
    fn birth_date() -> impl Strategy<Value = (u32, u32, u32)> {
        let year = prop_oneof![4 => 1900u32..=2100, 1 => Just(1900u32), 1 => Just(2000u32), 1 => Just(2100u32)];
        (year, 1u32..=12).prop_flat_map(|(y, m)| {
            let last = days_in_month(y, m);
            (Just(y), Just(m), prop_oneof![1..=last, Just(last)])
        })
    }

    /// A valid ID number built piece by piece: (the 17 digits, the number, birth date, male).
    fn valid_id() -> impl Strategy<Value = (String, String, String, bool)> {
        (region(), birth_date(), 0u32..1000).prop_map(|(region, (y, m, d), seq)| {
            let first17 = format!("{region}{y:04}{m:02}{d:02}{seq:03}");
            let id = format!("{first17}{}", id_check_by_definition(&first17));
            (first17, id, format!("{y:04}-{m:02}-{d:02}"), seq % 2 == 1)
        })
    }

    /// One thing wrong with an otherwise valid ID number.
    #[derive(Debug, Clone)]
    enum Fault {
        Drop(usize),
        Extra(char),
        /// A letter or a Chinese numeral at a position (never X, which is the check's 10; a
        /// full-width digit is a digit, typed by a Chinese input method).
        NotDigit(usize, char),
        /// Province digit 0 or 9.
        Province(u32),
        NoCityOrCounty,
        Month(u32),
        /// 0: day 00; k: k days past the month's end.
        Day(u32),
        Year(u32),
        /// 29 February of a year that has none (1900 and 2100 among them).
        Feb29(u32),
        /// Another check character (index into the ten wrong ones).
        Check(usize),
    }

    fn fault() -> impl Strategy<Value = Fault> {
        prop_oneof![
            (0usize..18).prop_map(Fault::Drop),
            prop::char::range('0', '9').prop_map(Fault::Extra),
            (
                0usize..18,
                prop_oneof![
                    prop::char::range('A', 'W'),
                    Just('Y'),
                    Just('z'),
                    prop::char::range('〇', '〇'),
                    Just('一'),
                    Just('五')
                ]
            )
                .prop_map(|(i, c)| Fault::NotDigit(i, c)),
            prop_oneof![Just(0u32), Just(9u32)].prop_map(Fault::Province),
            Just(Fault::NoCityOrCounty),
            prop_oneof![Just(0u32), 13u32..=99].prop_map(Fault::Month),
            (0u32..=68).prop_map(Fault::Day),
            prop_oneof![1000u32..1900, 2101u32..=9999].prop_map(Fault::Year),
            prop_oneof![
                Just(1900u32),
                Just(2100u32),
                (1900u32..=2100).prop_filter("not leap", |y| days_in_month(*y, 2) == 28)
            ]
            .prop_map(Fault::Feb29),
            (0usize..10).prop_map(Fault::Check),
        ]
    }

    /// Is this a valid ID number? Built from jiff's calendar and the check's definition, not from
    /// the parser's own pieces.
    fn valid_by_definition(s: &str) -> bool {
        let s = s.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
            return false;
        }
        let n = |r: std::ops::Range<usize>| s[r].parse::<i16>().unwrap();
        let date_ok = (1900..=2100).contains(&n(6..10)) && jiff::civil::Date::new(n(6..10), n(10..12) as i8, n(12..14) as i8).is_ok();
        (b'1'..=b'8').contains(&b[0]) && &s[2..6] != "0000" && date_ok && id_check_by_definition(&s[..17]) == b[17] as char
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        // Every generated number is valid, so every case goes round: parse (also lower-case x and
        // padded) → the same number, its birth date and gender; masked → two and four kept and
        // refused by the parser; any other check character → refused for its check.
        #[test]
        fn every_valid_id_round_trips((first17, id, birth, male) in valid_id(), pad in "[ \t]{0,2}") {
            prop_assert_eq!(id_check_char(first17.as_bytes()), id_check_by_definition(&first17));
            let gender = if male { "male" } else { "female" };
            let expect = Ok((id.clone(), birth.clone(), gender));
            prop_assert_eq!(parse_id_number(&id), expect.clone());
            prop_assert_eq!(parse_id_number(&format!("{pad}{}{pad}", id.to_ascii_lowercase())), expect);
            let masked = mask_id_number(&id);
            prop_assert_eq!(&masked, &format!("{}************{}", &id[..2], &id[14..]));
            prop_assert_eq!(parse_id_number(&masked), Err(IdNumberError::Characters));
            for c in "0123456789X".chars().filter(|c| !id.ends_with(*c)) {
                prop_assert_eq!(parse_id_number(&format!("{first17}{c}")), Err(IdNumberError::CheckDigit));
            }
        }

        // A valid number with exactly one thing wrong (the check recomputed unless the check is
        // the fault) is refused, and for that reason.
        #[test]
        fn one_fault_is_refused_for_its_reason((first17, id, _birth, _male) in valid_id(), f in fault()) {
            let with_check = |first17: String| {
                let c = id_check_by_definition(&first17);
                format!("{first17}{c}")
            };
            let (y, m, d) = (&first17[6..10], &first17[10..12], &first17[12..14]);
            let (broken, reason) = match f.clone() {
                Fault::Drop(i) => (format!("{}{}", &id[..i], &id[i + 1..]), IdNumberError::Length),
                Fault::Extra(c) => (format!("{id}{c}"), IdNumberError::Length),
                Fault::NotDigit(i, c) => (format!("{}{c}{}", &id[..i], &id[i + 1..]), IdNumberError::Characters),
                Fault::Province(p) => (with_check(format!("{p}{}", &first17[1..])), IdNumberError::Region),
                Fault::NoCityOrCounty => (with_check(format!("{}0000{}", &first17[..2], &first17[6..])), IdNumberError::Region),
                Fault::Month(m) => (with_check(format!("{}{y}{m:02}{d}{}", &first17[..6], &first17[14..])), IdNumberError::BirthDate),
                Fault::Day(k) => {
                    let day = if k == 0 { 0 } else { days_in_month(y.parse().unwrap(), m.parse().unwrap()) + k };
                    (with_check(format!("{}{y}{m}{:02}{}", &first17[..6], day.min(99), &first17[14..])), IdNumberError::BirthDate)
                }
                Fault::Feb29(y) => (with_check(format!("{}{y:04}0229{}", &first17[..6], &first17[14..])), IdNumberError::BirthDate),
                Fault::Year(y) => (with_check(format!("{}{y:04}{m}{d}{}", &first17[..6], &first17[14..])), IdNumberError::BirthDate),
                Fault::Check(i) => {
                    let c = "0123456789X".chars().filter(|c| !id.ends_with(*c)).nth(i).unwrap();
                    (format!("{first17}{c}"), IdNumberError::CheckDigit)
                }
            };
            prop_assert!(!valid_by_definition(&broken), "{f:?} left {broken} valid");
            prop_assert_eq!(parse_id_number(&broken), Err(reason), "{:?}: {}", f, broken);
        }

        // Random text (mostly near-IDs: 18 digits or X) is accepted exactly when it is valid.
        #[test]
        fn random_text_is_refused_unless_valid(s in prop_oneof!["[0-9Xx]{18}", "[1-8][0-9]{16}[0-9X]", ".{0,20}"]) {
            prop_assert_eq!(parse_id_number(&s).is_ok(), valid_by_definition(&s), "{}", s);
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
            prop_assert_eq!(&m[..2], &id[..2]);
            prop_assert_eq!(&m[14..], &id[14..]);
            prop_assert!(m[2..14].chars().all(|c| c == '*'));
            let p = mask_phone(&phone);
            prop_assert_eq!(p.len(), 11);
            prop_assert_eq!(&p[7..], &phone[7..]);
            prop_assert_eq!(&p[3..7], "****");
        }

        // Every generated code is valid (the region part digits, the check by definition), so the
        // round trip runs in every case: parsed as itself (also lower-case and padded); every
        // other check character, a forbidden letter anywhere, or a letter in the region part refused.
        #[test]
        fn credit_code_round_trips(
            (head, region, tail) in ("[0-9A-HJ-NP-RTUWXY]{2}", "[0-9]{6}", "[0-9A-HJ-NP-RTUWXY]{9}"),
            pos in 0usize..18,
            bad in "[IOSVZ]",
            letter in "[A-HJ-NP-RTUWXY]",
        ) {
            let body = format!("{head}{region}{tail}");
            let check = credit_check_by_definition(&body);
            let code = format!("{body}{check}");
            prop_assert_eq!(credit_check_char(body.as_bytes()), Some(check));
            prop_assert_eq!(parse_credit_code(&code), Ok(code.clone()));
            prop_assert_eq!(parse_credit_code(&format!(" {} ", code.to_ascii_lowercase())), Ok(code.clone()));
            for c in CREDIT_CHARS.iter().map(|c| *c as char).filter(|c| *c != check) {
                let wrong = format!("{body}{c}");
                prop_assert!(parse_credit_code(&wrong).is_err(), "{}", wrong);
            }
            let forbidden = format!("{}{bad}{}", &code[..pos], &code[pos + 1..]);
            prop_assert!(parse_credit_code(&forbidden).is_err(), "{}", forbidden);
            let i = 2 + pos % 6;
            let lettered = format!("{}{letter}{}", &body[..i], &body[i + 1..]);
            let lettered = format!("{lettered}{}", credit_check_by_definition(&lettered));
            prop_assert!(parse_credit_code(&lettered).is_err(), "{}", lettered);
        }

        // Every generated mobile is valid, written with spaces, dashes or +86 as people type it:
        // parsed to its 11 digits, masked to 3 and 4. A 10- or 12-digit number, or one starting
        // 10–12, is refused.
        #[test]
        fn mobiles_round_trip(digits in "1[3-9][0-9]{9}", cuts in proptest::collection::vec((1usize..11, prop_oneof![Just(" "), Just("-")]), 0..3), plus86 in any::<bool>(), second in 0u8..3) {
            let mut typed = digits.clone();
            let mut cuts = cuts;
            // From the end, so earlier positions still count digits.
            cuts.sort_by_key(|c| std::cmp::Reverse(c.0));
            cuts.dedup_by_key(|c| c.0);
            for (at, sep) in cuts {
                typed.insert_str(at, sep);
            }
            if plus86 {
                typed.insert_str(0, "+86 ");
            }
            prop_assert_eq!(parse_mobile(&typed), Some(digits.clone()), "{}", typed);
            prop_assert_eq!(parse_contact_phone(&typed), Some(digits.clone()));
            prop_assert_eq!(mask_phone(&digits), format!("{}****{}", &digits[..3], &digits[7..]));
            prop_assert_eq!(parse_mobile(&digits[..10]), None);
            prop_assert_eq!(parse_mobile(&format!("{digits}0")), None);
            prop_assert_eq!(parse_mobile(&format!("1{second}{}", &digits[2..])), None);
        }
    }
}
