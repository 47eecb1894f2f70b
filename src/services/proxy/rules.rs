//! Red proxy service's pure rules (红色代办规则): a document's chain of custody, when a matter may
//! be closed, overdue, the person's slip code. No I/O.

/// Where a document handed over for a matter stands (材料交接状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocState {
    /// The agent signed for it; the person has not yet confirmed handing it over.
    Offered,
    /// Both confirmed the hand-over: the agent holds it.
    Held,
    /// The agent says it is back with the person; the person has not yet confirmed.
    ReturnOffered,
    /// The person confirmed they have it back.
    Returned,
}

impl DocState {
    pub fn as_str(self) -> &'static str {
        match self {
            DocState::Offered => "offered",
            DocState::Held => "held",
            DocState::ReturnOffered => "return_offered",
            DocState::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Option<DocState> {
        [DocState::Offered, DocState::Held, DocState::ReturnOffered, DocState::Returned]
            .into_iter()
            .find(|d| d.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            DocState::Offered => "待本人确认交出",
            DocState::Held => "代办员保管中",
            DocState::ReturnOffered => "待本人确认收回",
            DocState::Returned => "已归还本人",
        }
    }

    /// Not yet back with the person, as far as the person has confirmed: the agent (or nobody
    /// knows who) has it.
    pub fn outstanding(self) -> bool {
        self != DocState::Returned
    }
}

/// What happens to a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocEvent {
    /// The person confirms the step awaiting them (code from their slip).
    PersonConfirms,
    /// The agent gives it back; `person` when the person's code is entered at the same time.
    AgentReturns { person: bool },
}

/// Why a custody step is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustodyError {
    NothingToConfirm,
    NotHeld,
}

impl CustodyError {
    pub fn code(self) -> &'static str {
        match self {
            CustodyError::NothingToConfirm => "nothing_to_confirm",
            CustodyError::NotHeld => "document_not_held",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            CustodyError::NothingToConfirm => "该材料没有等待本人确认的交接",
            CustodyError::NotHeld => "只有本人已确认交出、尚未归还的材料才能登记归还",
        }
    }
}

/// A new receipt: held at once when the person's code is entered with it, else offered.
pub fn handed(person: bool) -> DocState {
    if person { DocState::Held } else { DocState::Offered }
}

/// The next state. The only way to `Returned` is the person's confirmation.
pub fn step(s: DocState, e: DocEvent) -> Result<DocState, CustodyError> {
    match (s, e) {
        (DocState::Offered, DocEvent::PersonConfirms) => Ok(DocState::Held),
        (DocState::ReturnOffered, DocEvent::PersonConfirms) => Ok(DocState::Returned),
        (_, DocEvent::PersonConfirms) => Err(CustodyError::NothingToConfirm),
        (DocState::Held, DocEvent::AgentReturns { person }) => Ok(if person { DocState::Returned } else { DocState::ReturnOffered }),
        (_, DocEvent::AgentReturns { .. }) => Err(CustodyError::NotHeld),
    }
}

/// A matter's status (代办事项状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Taken,
    Done,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Taken => "taken",
            Status::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [Status::Open, Status::Taken, Status::Done].into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "待领办",
            Status::Taken => "办理中",
            Status::Done => "已办结",
        }
    }
}

/// Whether a matter may be closed: it is being done, and no document is outstanding (a document
/// still with the agent, or whose return the person has not confirmed). Err: how many are out.
pub fn may_close(status: Status, docs: &[DocState]) -> Result<(), CloseError> {
    if status != Status::Taken {
        return Err(CloseError::NotTaken);
    }
    let out = docs.iter().filter(|d| d.outstanding()).count();
    if out > 0 {
        return Err(CloseError::DocumentsOut(out));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseError {
    NotTaken,
    DocumentsOut(usize),
}

impl CloseError {
    pub fn code(self) -> &'static str {
        match self {
            CloseError::NotTaken => "not_taken",
            CloseError::DocumentsOut(_) => "documents_held",
        }
    }

    pub fn message(self) -> String {
        match self {
            CloseError::NotTaken => "只有办理中的事项才能办结".into(),
            CloseError::DocumentsOut(n) => format!("还有 {n} 份材料未经本人确认归还，不能办结"),
        }
    }
}

/// Overdue: not done and past its due instant.
pub fn overdue(status: Status, due_at: i64, now: i64) -> bool {
    status != Status::Done && now > due_at
}

/// The code on the person's slip, normalised (full-width digits, spaces) and checked: six digits.
pub fn slip_code(raw: &str) -> Option<String> {
    let s: String = crate::identity::half_width(raw).chars().filter(|c| !c.is_whitespace()).collect();
    (s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// What is stored of the slip code: SHA-256 of the matter id and the code, hex.
pub fn code_hash(matter: uuid::Uuid, code: &str) -> String {
    use sha2::Digest;
    crate::auth::hex(&sha2::Sha256::digest(format!("{matter}:{code}").as_bytes()))
}

/// How the person asked (求助方式).
pub const VIA: [(&str, &str); 3] = [
    ("in_person", "上门/窗口"),
    ("phone", "电话"),
    ("building_officer", "楼栋长代为提出"),
];

pub fn via_label(v: &str) -> &'static str {
    VIA.iter().find(|x| x.0 == v).map_or("其他", |x| x.1)
}

/// The district's starting list of matters: name, documents, working days.
pub const DEFAULT_KINDS: [(&str, &str, i64); 6] = [
    ("社保业务", "身份证、社保卡", 5),
    ("医保报销", "身份证、医保卡、医疗票据", 10),
    ("民政救助申请", "身份证、户口簿、收入证明", 15),
    ("残疾证办理", "身份证、户口簿、照片", 20),
    ("养老资格认证", "身份证、社保卡", 3),
    ("高龄津贴申领", "身份证、户口簿、银行卡", 10),
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn return_needs_the_person() {
        assert_eq!(
            step(DocState::Held, DocEvent::AgentReturns { person: false }),
            Ok(DocState::ReturnOffered)
        );
        assert_eq!(step(DocState::ReturnOffered, DocEvent::PersonConfirms), Ok(DocState::Returned));
        assert_eq!(
            step(DocState::Held, DocEvent::AgentReturns { person: true }),
            Ok(DocState::Returned)
        );
        assert_eq!(
            step(DocState::Offered, DocEvent::AgentReturns { person: true }),
            Err(CustodyError::NotHeld)
        );
        assert_eq!(
            step(DocState::Returned, DocEvent::PersonConfirms),
            Err(CustodyError::NothingToConfirm)
        );
        assert_eq!(step(DocState::Held, DocEvent::PersonConfirms), Err(CustodyError::NothingToConfirm));
        assert_eq!(handed(false), DocState::Offered);
        assert_eq!(handed(true), DocState::Held);
    }

    #[test]
    fn a_matter_with_a_document_out_stays_open() {
        assert_eq!(may_close(Status::Taken, &[]), Ok(()));
        assert_eq!(
            may_close(Status::Taken, &[DocState::Returned, DocState::Held]),
            Err(CloseError::DocumentsOut(1))
        );
        assert_eq!(
            may_close(Status::Taken, &[DocState::ReturnOffered]),
            Err(CloseError::DocumentsOut(1))
        );
        assert_eq!(may_close(Status::Taken, &[DocState::Offered]), Err(CloseError::DocumentsOut(1)));
        assert_eq!(may_close(Status::Open, &[]), Err(CloseError::NotTaken));
        assert_eq!(may_close(Status::Done, &[]), Err(CloseError::NotTaken));
    }

    #[test]
    fn slip_codes_and_masks() {
        assert_eq!(slip_code(" １２3 456 ").as_deref(), Some("123456"));
        assert_eq!(slip_code("12345"), None);
        assert_eq!(slip_code("12345a"), None);
        let m = uuid::Uuid::nil();
        assert_eq!(code_hash(m, "123456"), code_hash(m, "123456"));
        assert_ne!(code_hash(m, "123456"), code_hash(m, "123457"));
        assert_eq!(crate::identity::mask_name("张三丰"), "张**");
        assert_eq!(crate::identity::mask_name("李四"), "李*");
        assert_eq!(crate::identity::mask_name(""), "");
        assert!(overdue(Status::Taken, 10, 11));
        assert!(!overdue(Status::Done, 10, 11));
        assert!(!overdue(Status::Open, 10, 10));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Hand { person: bool },
        Confirm(usize),
        Return(usize, bool),
        Close,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            any::<bool>().prop_map(|person| Op::Hand { person }),
            (0usize..6).prop_map(Op::Confirm),
            (0usize..6, any::<bool>()).prop_map(|(i, p)| Op::Return(i, p)),
            Just(Op::Close),
        ]
    }

    proptest! {
        // A model of the person's own knowledge: a document is back only once they said so.
        // Whatever the agent does, a document never reaches Returned without a confirmation of
        // the person after the agent's return, and a matter closes only with nothing out.
        #[test]
        fn custody_state_machine(ops in proptest::collection::vec(op(), 0..40)) {
            let mut docs: Vec<DocState> = Vec::new();
            // Per document: has the person confirmed its return?
            let mut person_has_it: Vec<bool> = Vec::new();
            let mut status = Status::Taken;
            for o in ops {
                match o {
                    Op::Hand { person } if status == Status::Taken => {
                        docs.push(handed(person));
                        person_has_it.push(false);
                    }
                    Op::Confirm(i) if i < docs.len() => {
                        let before = docs[i];
                        if let Ok(s) = step(before, DocEvent::PersonConfirms) {
                            if s == DocState::Returned { person_has_it[i] = true; }
                            docs[i] = s;
                        } else {
                            prop_assert!(matches!(before, DocState::Held | DocState::Returned));
                        }
                    }
                    Op::Return(i, person) if i < docs.len() => {
                        let before = docs[i];
                        match step(before, DocEvent::AgentReturns { person }) {
                            Ok(s) => {
                                prop_assert_eq!(before, DocState::Held);
                                if s == DocState::Returned { prop_assert!(person); person_has_it[i] = true; }
                                docs[i] = s;
                            }
                            Err(e) => { prop_assert_eq!(e, CustodyError::NotHeld); prop_assert_ne!(before, DocState::Held); }
                        }
                    }
                    Op::Close => {
                        let r = may_close(status, &docs);
                        if r.is_ok() {
                            prop_assert!(person_has_it.iter().all(|x| *x));
                            status = Status::Done;
                        } else if status == Status::Taken {
                            prop_assert!(docs.iter().any(|d| *d != DocState::Returned));
                        }
                    }
                    _ => {}
                }
                for (d, has) in docs.iter().zip(&person_has_it) {
                    prop_assert_eq!(*d == DocState::Returned, *has);
                }
            }
        }
    }
}
