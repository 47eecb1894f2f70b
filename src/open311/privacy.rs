//! What may leave through Open311: numbers in free text masked, private cases' places made coarse. Pure.

use unicode_normalization::char::decompose_compatible;

/// What a masked number is replaced with.
pub const MASK: &str = "[号码已隐去]";

/// Mask every number of seven or more digits (a phone, an ID number — with its X check digit — or
/// a bank card), so a number a resident wrote into a description does not leave the system.
///
/// Each character is read through its compatibility decomposition (what NFKC does, character by
/// character), so full-width `１３８`, circled `①` and mathematical `𝟏` are digits, and so is a digit
/// of any other script (every Unicode decimal digit, and other numerals too). A number is groups of
/// digits with any run of characters that are neither letters nor digits between them — spaces,
/// tabs, `-`, `.`, `_`, `，`, `—`, `/`, a zero-width space…: `138 1234 5678`, `138.1234.5678` and
/// `１３８，１２３４，５６７８` are one number each. Letters (Chinese characters included) end a number,
/// so `3号楼2单元` is three short ones. An X (either width) right after the last digit belongs to it.
///
/// A date leading a number (`2026-11-25`, `2026/1/5`, `２０２６．１１．２５`, years 2000–2099) is kept,
/// and what follows it is read afresh, so `2026-11-25 14:30` and `2026.11.25，3号楼` stay whole. A
/// mobile number starts with 1 and so never with such a year: however it is written, all its
/// digits are read as one number. (A birth date of the last century is masked.) Short numbers and
/// all other text stay as written, in their own characters; a short number joined to a long one
/// only by punctuation is masked with it.
pub fn scrub(text: &str) -> String {
    let chars: Vec<(char, Kind)> = text.chars().map(|c| (c, kind(c))).collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !matches!(chars[i].1, Kind::Digit { .. }) {
            out.push(chars[i].0);
            i += 1;
            continue;
        }
        let end = match date_at(&chars, i) {
            Some(end) => {
                out.extend(chars[i..end].iter().map(|(c, _)| c));
                end
            }
            None => {
                let (digits, end) = read_number(&chars, i);
                if digits >= 7 {
                    out.push_str(MASK);
                } else {
                    out.extend(chars[i..end].iter().map(|(c, _)| c));
                }
                end
            }
        };
        i = end;
    }
    out
}

/// What one character is to the scrub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Stands for `count` digits; `ascii` is the digit when it is exactly one of 0–9.
    Digit {
        count: u8,
        ascii: Option<char>,
    },
    /// An X (either width): part of an ID number right after its digits, else a letter.
    X,
    Letter,
    /// Neither letter nor digit; `ascii` is what it stands for when that is one ASCII character.
    Separator {
        ascii: Option<char>,
    },
}

fn kind(c: char) -> Kind {
    if c.is_ascii() {
        return match c {
            '0'..='9' => Kind::Digit { count: 1, ascii: Some(c) },
            'X' | 'x' => Kind::X,
            c if c.is_ascii_alphabetic() => Kind::Letter,
            c => Kind::Separator { ascii: Some(c) },
        };
    }
    let (mut parts, mut digits, mut letters) = (0u8, 0u8, 0u8);
    let (mut last, mut ascii_digit) = (None, None);
    decompose_compatible(c, |d| {
        parts = parts.saturating_add(1);
        last = Some(d);
        if d.is_numeric() {
            digits = digits.saturating_add(1);
            ascii_digit = d.is_ascii_digit().then_some(d);
        } else if d.is_alphanumeric() {
            letters = letters.saturating_add(1);
        }
    });
    let single = if parts == 1 { last } else { None };
    if digits > 0 {
        // A digit with letters in one character (`㏩` is 10日) still counts: masking more is the safe side.
        Kind::Digit {
            count: digits,
            ascii: if parts == 1 { ascii_digit } else { None },
        }
    } else if letters > 0 {
        match single {
            Some('X' | 'x') => Kind::X,
            _ => Kind::Letter,
        }
    } else {
        Kind::Separator {
            ascii: single.filter(char::is_ascii),
        }
    }
}

/// The digits of the number starting at `start` (a digit), and the index just past it: past its
/// last digit, or its X. Separators after the last digit are ordinary text.
fn read_number(chars: &[(char, Kind)], start: usize) -> (usize, usize) {
    let (mut digits, mut i, mut end) = (0, start, start);
    while i < chars.len() {
        match chars[i].1 {
            Kind::Digit { count, .. } => {
                digits += usize::from(count);
                end = i + 1;
            }
            Kind::Separator { .. } => {}
            Kind::X | Kind::Letter => break,
        }
        i += 1;
    }
    if matches!(chars.get(end), Some((_, Kind::X))) {
        end += 1;
    }
    (digits, end)
}

/// The end of a date starting at `start`: a year 2000–2099, a month 1–12 and a day 1–31, with one
/// `-`, `/` or `.` (any width), the same twice, between them.
fn date_at(chars: &[(char, Kind)], start: usize) -> Option<usize> {
    // One group of 1 to `max` ASCII-valued digits from `i`: its value and where it ends.
    let group = |i: usize, max: usize| -> Option<(u32, usize)> {
        let mut j = i;
        let mut v = 0u32;
        while let Some((_, Kind::Digit { count: 1, ascii: Some(d) })) = chars.get(j) {
            v = v * 10 + d.to_digit(10)?;
            j += 1;
            if j - i > max {
                return None;
            }
        }
        (j > i && !matches!(chars.get(j), Some((_, Kind::Digit { .. })))).then_some((v, j))
    };
    let separator = |i: usize| match chars.get(i) {
        Some((
            _,
            Kind::Separator {
                ascii: Some(c @ ('-' | '/' | '.')),
            },
        )) => Some(*c),
        _ => None,
    };
    let (_, i) = group(start, 4).filter(|(year, i)| i - start == 4 && (2000..=2099).contains(year))?;
    let sep = separator(i)?;
    let (_, i) = group(i + 1, 2).filter(|(month, _)| (1..=12).contains(month))?;
    if separator(i)? != sep {
        return None;
    }
    group(i + 1, 2).filter(|(day, _)| (1..=31).contains(day)).map(|(_, end)| end)
}

/// A private case's point is rounded to hundredths of a degree: about 1.1 km north–south and
/// 0.9 km east–west here, so it names a neighbourhood, not a door.
const COARSE_STEPS_PER_DEGREE: f64 = 100.0;

/// A private case's latitude or longitude as it may leave (33.623456 → 33.62).
pub fn coarse(degrees: f64) -> f64 {
    // An integer divided by 100 is the double nearest the two-decimal number: it prints as 33.62.
    (degrees * COARSE_STEPS_PER_DEGREE).round() / COARSE_STEPS_PER_DEGREE
}

/// A private case's grid code as it may leave: no finer than its community (社区, level 3).
pub fn coarse_grid(code: &str) -> &str {
    let community = crate::grid::rules::code_len(3);
    if code.len() > community { &code[..community] } else { code }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_are_masked_and_the_rest_kept() {
        assert_eq!(scrub("请联系13812345678王先生"), "请联系[号码已隐去]王先生");
        assert_eq!(scrub("身份证41160219900101123X。"), "身份证[号码已隐去]。");
        assert_eq!(scrub("电话 138-1234-5678 ，在3号楼2单元"), "电话 [号码已隐去] ，在3号楼2单元");
        assert_eq!(scrub("7楼有电动车，2026年11月"), "7楼有电动车，2026年11月");
        assert_eq!(scrub("门牌 123 456"), "门牌 123 456");
    }

    #[test]
    fn full_width_and_separated_numbers_are_masked() {
        assert_eq!(scrub("电话１３８１２３４５６７８请回电"), "电话[号码已隐去]请回电");
        assert_eq!(scrub("电话138-1234-5678"), "电话[号码已隐去]");
        assert_eq!(scrub("电话 138 1234 5678 谢谢"), "电话 [号码已隐去] 谢谢");
        assert_eq!(scrub("１３８－１２３４－５６７８"), "[号码已隐去]");
        assert_eq!(scrub("１３８　１２３４　５６７８"), "[号码已隐去]");
        assert_eq!(scrub("138１２３4５６78"), "[号码已隐去]", "mixed widths are one number");
        assert_eq!(scrub("４１１６０２１９９００１０１１２３Ｘ号"), "[号码已隐去]号");
        // Short numbers, full-width or not, stay; so does the text and the spacing around them.
        assert_eq!(scrub("３号楼　２单元 - 5层"), "３号楼　２单元 - 5层");
        assert_eq!(scrub("门牌 １２３－４５６ "), "门牌 １２３－４５６ ");
    }

    /// The probe's bypasses (issue 11, item 3): other separators and other digits.
    #[test]
    fn any_separator_and_any_digit_script() {
        for phone in [
            "138.1234.5678",
            "138_1234_5678",
            "138，1234，5678",
            "138—1234—5678",
            "138\t1234\t5678",
            "１３８．１２３４．５６７８",
            "138 . 1234 . 5678",
            "1\u{200b}3\u{200b}8\u{200b}12345678",
            "138/1234/5678",
            "138 (1234) 5678",
            "١٣٨١٢٣٤٥٦٧٨",
            "१३८१२३४५६७८",
            "𝟏𝟑𝟖𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖",
            "①③⑧①②③④⑤⑥⑦⑧",
            "138\n1234\n5678",
        ] {
            let text = format!("电话{phone}找我");
            assert_eq!(scrub(&text), "电话[号码已隐去]找我", "{phone:?}");
        }
        assert_eq!(scrub("身份证 411602.19900101.123ｘ 号"), "身份证 [号码已隐去] 号");
    }

    #[test]
    fn dates_and_house_numbers_are_kept() {
        for text in [
            "2026-11-25 楼道有人飞线",
            "2026/1/5下午",
            "２０２６－１１－２５",
            "2026.11.25，3号楼2单元501室",
            "2026-11-25 14:30 发现",
            "2026-11-25 14:30:05 发现",
            "11月25日14:30",
            "2026年11月25日",
            "面积120平方米，高35米",
        ] {
            assert_eq!(scrub(text), text);
        }
        // A date leads; what follows is read afresh.
        assert_eq!(scrub("2026-1-5 9:30"), "2026-1-5 9:30");
        assert_eq!(scrub("2026-11-25-1号"), "2026-11-25-1号");
        assert_eq!(scrub("2026-11-25 13812345678"), "2026-11-25 [号码已隐去]");
        // Not a date: masked like any long number.
        for text in [
            "1991-12-31",
            "1991-2-3 45678",
            "2026-13-01 14:30",
            "2026-11/25",
            "2026--11-25",
            "13812345678，2026-11-25",
        ] {
            assert_eq!(scrub(text), MASK, "{text}");
        }
    }

    #[test]
    fn private_places_are_coarse() {
        assert_eq!(coarse(33.623_456), 33.62);
        assert_eq!(coarse(114.655), 114.66);
        assert_eq!(coarse(-0.004), 0.0);
        assert_eq!(coarse_grid("411602001001001001"), "411602001001");
        assert_eq!(coarse_grid("411602001"), "411602001");
    }

    /// Decimal digit zeros of some scripts (each followed by 1–9): ASCII, full-width,
    /// Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali, Thai, Mongolian, mathematical
    /// bold and double-struck.
    const ZEROS: [u32; 10] = [0x30, 0xFF10, 0x660, 0x6F0, 0x966, 0x9E6, 0xE50, 0x1810, 0x1D7CE, 0x1D7D8];

    /// A digit of value `v` in one of [`ZEROS`]' scripts, or circled (①–⑨, no zero).
    fn any_digit(v: u32) -> impl Strategy<Value = char> {
        (0..=ZEROS.len()).prop_map(move |s| match s {
            s if s < ZEROS.len() => char::from_u32(ZEROS[s] + v).unwrap(),
            _ if v > 0 => char::from_u32(0x2460 + v - 1).unwrap(),
            _ => '0',
        })
    }

    /// What may stand between two digits: nothing, or a run of non-alphanumeric characters.
    fn separator() -> impl Strategy<Value = String> {
        let one = prop_oneof![
            Just("."),
            Just("_"),
            Just("，"),
            Just("—"),
            Just("\t"),
            Just(" "),
            Just("-"),
            Just("－"),
            Just("\u{3000}"),
            Just("/"),
            Just(":"),
            Just("·"),
            Just("\u{200b}"),
            Just("\n"),
            Just("、"),
            Just("("),
            Just(")"),
            Just("*"),
            Just("～"),
        ];
        prop_oneof![3 => Just(String::new()), 2 => proptest::collection::vec(one, 1..4).prop_map(|v| v.concat())]
    }

    /// `digits` written with any script and any separators between them.
    fn written(digits: Vec<u32>) -> impl Strategy<Value = String> {
        let n = digits.len();
        (
            digits.into_iter().map(any_digit).collect::<Vec<_>>(),
            proptest::collection::vec(separator(), n - 1),
        )
            .prop_map(|(ds, seps)| {
                let mut s = String::new();
                for (i, d) in ds.into_iter().enumerate() {
                    if i > 0 {
                        s.push_str(&seps[i - 1]);
                    }
                    s.push(d);
                }
                s
            })
    }

    /// An 11-digit mobile number: 1, then 3–9, then nine digits.
    fn mobile() -> impl Strategy<Value = String> {
        (3u32..=9, proptest::collection::vec(0u32..=9, 9)).prop_flat_map(|(second, rest)| written([vec![1, second], rest].concat()))
    }

    /// An ID number: a province's two digits (GB/T 2260), 15 more, and a check digit or X.
    fn id_number() -> impl Strategy<Value = String> {
        const PROVINCES: [u32; 34] = [
            11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71,
            81, 82,
        ];
        (
            proptest::sample::select(&PROVINCES[..]),
            proptest::collection::vec(0u32..=9, 15..=16),
            prop_oneof![Just(""), Just("X"), Just("x"), Just("Ｘ")],
        )
            .prop_flat_map(|(p, rest, x)| {
                let d = [vec![p / 10, p % 10], rest].concat();
                let x = if d.len() == 18 { "" } else { x };
                written(d).prop_map(move |s| format!("{s}{x}"))
            })
    }

    /// Text around a number: anything, ending (or starting) with a letter that is not an X.
    fn around() -> impl Strategy<Value = (String, String)> {
        let letter = "[a-wyzA-WYZ楼号室电话找我]";
        (".{0,12}", letter, letter, ".{0,12}").prop_map(|(a, l1, l2, b)| (format!("{a}{l1}"), format!("{l2}{b}")))
    }

    fn short_piece() -> impl Strategy<Value = String> {
        prop_oneof![
            (
                2000u32..=2099,
                1u32..=12,
                1u32..=31,
                prop_oneof![Just('-'), Just('/'), Just('.')],
                any::<bool>()
            )
                .prop_map(|(y, m, d, s, pad)| if pad {
                    format!("{y}{s}{m:02}{s}{d:02}")
                } else {
                    format!("{y}{s}{m}{s}{d}")
                }),
            (
                2000u32..=2099,
                1u32..=12,
                1u32..=28,
                0u32..=23,
                0u32..=59,
                proptest::option::of(0u32..=59)
            )
                .prop_map(|(y, m, d, h, mi, s)| match s {
                    Some(s) => format!("{y}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
                    None => format!("{y}-{m:02}-{d:02} {h:02}:{mi:02}"),
                }),
            (1u32..40, 1u32..9, 101u32..3000).prop_map(|(a, b, c)| format!("{a}号楼{b}单元{c}室")),
            "[0-9０-９]{1,6}",
            "[0-9]{1,3}[ ，、.-][0-9]{1,3}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        // A mobile number, however written, never survives: the text around it is scrubbed on
        // its own, the number becomes the mask.
        #[test]
        fn no_mobile_survives(m in mobile(), (before, after) in around()) {
            let text = format!("{before}{m}{after}");
            prop_assert_eq!(scrub(&text), format!("{}{MASK}{}", scrub(&before), scrub(&after)), "{:?}", text);
        }

        #[test]
        fn no_id_number_survives(id in id_number(), (before, after) in around()) {
            let text = format!("{before}{id}{after}");
            prop_assert_eq!(scrub(&text), format!("{}{MASK}{}", scrub(&before), scrub(&after)), "{:?}", text);
        }

        // Dates, date-times, house numbers and short numbers between words are kept as written.
        #[test]
        fn ordinary_text_is_kept(pieces in proptest::collection::vec((short_piece(), "[ ，。]{0,2}[a-wyz楼道电动车堆物]{1,4}[ ，。]{0,2}"), 1..6)) {
            let text: String = pieces.iter().map(|(p, w)| format!("{p}{w}")).collect();
            prop_assert_eq!(scrub(&text), text.clone());
        }

        // Whatever the text, nothing of seven digits or more is left but dates; scrubbing twice
        // changes nothing more.
        #[test]
        fn only_dates_are_left_long(s in proptest::collection::vec(prop_oneof![4 => "[0-9０-９١٣]", 2 => "[ 　－\\-._，—\t:/]", 1 => "[a-zＸ楼]"], 0..60).prop_map(|v| v.concat())) {
            let out = scrub(&s);
            let chars: Vec<(char, Kind)> = out.chars().map(|c| (c, kind(c))).collect();
            let mut i = 0;
            while i < chars.len() {
                if !matches!(chars[i].1, Kind::Digit { .. }) {
                    i += 1;
                } else if let Some(end) = date_at(&chars, i) {
                    i = end;
                } else {
                    let (digits, end) = read_number(&chars, i);
                    prop_assert!(digits < 7, "{:?} → {:?}", s, out);
                    i = end;
                }
            }
            prop_assert_eq!(scrub(&out), out.clone(), "scrubbing twice changes nothing more");
        }
    }
}
