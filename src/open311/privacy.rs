//! What may leave through Open311: descriptions with phone and ID numbers masked. Pure.

/// Mask every run of seven or more digits (a phone, an ID number — with its X check digit — or a
/// bank card), so a number a resident wrote into a description does not leave the system.
pub fn scrub(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == ' ' || chars[i] == '-') {
                i += 1;
            }
            // An ID number ends in X; a trailing separator is not part of the number.
            if i < chars.len() && matches!(chars[i], 'X' | 'x') {
                i += 1;
            }
            let mut end = i;
            while end > start && matches!(chars[end - 1], ' ' | '-') {
                end -= 1;
            }
            let digits = chars[start..end].iter().filter(|c| c.is_ascii_digit()).count();
            if digits >= 7 {
                out.push_str("[号码已隐去]");
            } else {
                out.extend(&chars[start..end]);
            }
            out.extend(&chars[end..i]);
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
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

    proptest! {
        #[test]
        fn no_long_digit_run_survives(s in "[0-9a-z 楼-]{0,60}") {
            let out = scrub(&s);
            let mut run = 0;
            for c in out.chars() {
                if c.is_ascii_digit() { run += 1; prop_assert!(run < 7); } else if c != ' ' && c != '-' { run = 0; }
            }
        }
    }
}
