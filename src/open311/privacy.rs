//! What may leave through Open311: descriptions with phone and ID numbers masked. Pure.

/// Mask every run of seven or more digits (a phone, an ID number — with its X check digit — or a
/// bank card), so a number a resident wrote into a description does not leave the system.
///
/// A run is digits, ASCII or full-width (０–９, what Chinese input methods type), with nothing but
/// spaces and hyphens, ASCII or full-width, between them: `138 1234 5678`, `138-1234-5678` and
/// `１３８－１２３４－５６７８` are one number each. An X (either width) right after the last digit
/// belongs to the run. The separators around a run, short numbers and all other text stay as written.
pub fn scrub(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_digit(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        // `end` is just past the run's last digit: trailing separators are ordinary text.
        let (mut end, mut digits) = (i, 0);
        while i < chars.len() && (is_digit(chars[i]) || is_separator(chars[i])) {
            if is_digit(chars[i]) {
                digits += 1;
                end = i + 1;
            }
            i += 1;
        }
        if end < chars.len() && matches!(chars[end], 'X' | 'x' | 'Ｘ' | 'ｘ') {
            end += 1;
        }
        if digits >= 7 {
            out.push_str("[号码已隐去]");
        } else {
            out.extend(&chars[start..end]);
        }
        i = end;
    }
    out
}

/// An ASCII or full-width decimal digit.
fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

/// What may stand between the digits of one number: a space or hyphen, ASCII or full-width.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '\u{3000}' | '－')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_are_masked_and_the_rest_kept() {
        assert_eq!(scrub("请联系13812345678王先生"), "请联系[号码已隐去]王先生");
        assert_eq!(scrub("身份证41160219900101123X。"), "身份证[号码已隐去]。");
        assert_eq!(scrub("电话 138-1234-5678 ，3号楼2单元"), "电话 [号码已隐去] ，3号楼2单元");
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

    fn digit(c: char) -> bool {
        c.is_ascii_digit() || ('０'..='９').contains(&c)
    }

    fn separator(c: char) -> bool {
        matches!(c, ' ' | '-' | '\u{3000}' | '－')
    }

    /// A number as a resident may type it: `n` digits, each ASCII or full-width, with a space or
    /// hyphen (ASCII or full-width) now and then between two of them.
    fn typed_number(n: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
        let d = prop_oneof![prop::char::range('0', '9'), prop::char::range('０', '９')];
        let sep = prop_oneof![
            Just(""),
            Just(""),
            Just(""),
            Just(" "),
            Just("-"),
            Just("\u{3000}"),
            Just("－"),
            Just(" - "),
            Just("－ ")
        ];
        proptest::collection::vec((d, sep), n).prop_map(|parts| {
            let last = parts.len() - 1;
            parts
                .into_iter()
                .enumerate()
                .map(|(i, (c, s))| if i == last { c.to_string() } else { format!("{c}{s}") })
                .collect()
        })
    }

    /// Text between numbers: at least one character that is neither digit, separator nor X,
    /// perhaps with separators around it.
    fn filler() -> impl Strategy<Value = String> {
        ("[ 　－-]{0,2}", "[a-wyz楼号室，。！(]{1,4}", "[ 　－-]{0,2}").prop_map(|(a, b, c)| format!("{a}{b}{c}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        // Whatever the text, no run of seven digits (either width, separators between) survives.
        // Digits are drawn most, so most texts hold such a run.
        #[test]
        fn no_long_digit_run_survives(s in proptest::collection::vec(prop_oneof![4 => "[0-9０-９]", 2 => "[ 　－-]", 1 => "[a-zＸ楼]"], 0..60).prop_map(|v| v.concat())) {
            let out = scrub(&s);
            let mut run = 0;
            for c in out.chars() {
                if digit(c) { run += 1; prop_assert!(run < 7, "{:?} → {:?}", s, out); } else if !separator(c) { run = 0; }
            }
            prop_assert_eq!(scrub(&out), out.clone(), "scrubbing twice changes nothing more");
        }

        // Text built from fillers, long numbers (7–18 digits, an ID's X now and then) and short
        // ones (1–6 digits): exactly the long numbers are masked, everything else is kept.
        #[test]
        fn exactly_the_long_numbers_are_masked(
            pieces in proptest::collection::vec((filler(), any::<bool>(), typed_number(7..=18), prop_oneof![Just(""), Just("X"), Just("x"), Just("Ｘ")], typed_number(1..=6)), 1..5),
            tail in filler(),
        ) {
            let (mut text, mut expect) = (String::new(), String::new());
            for (fill, long, number, x, short) in pieces {
                text.push_str(&fill);
                expect.push_str(&fill);
                if long {
                    text.push_str(&format!("{number}{x}"));
                    expect.push_str("[号码已隐去]");
                } else {
                    text.push_str(&short);
                    expect.push_str(&short);
                }
            }
            text.push_str(&tail);
            expect.push_str(&tail);
            prop_assert_eq!(scrub(&text), expect, "{:?}", text);
        }
    }
}
