//! The audit log: every write and every reveal of personal data, in the writer's transaction.

pub mod chain;

use serde::Serialize;
use uuid::Uuid;

use crate::db::{Db, Tx, new_id, now_ms};
use crate::on_pool;

/// Who acted: a signed-in person (by account id and names, whatever the account type), or the
/// command line / demo loader.
#[derive(Clone, Copy)]
pub enum Actor<'a> {
    User {
        id: Uuid,
        username: &'a str,
        display_name: &'a str,
    },
    System(&'a str),
}

impl Actor<'_> {
    /// The account's id; none for the command line or the demo loader.
    pub fn id(&self) -> Option<Uuid> {
        match self {
            Actor::User { id, .. } => Some(*id),
            Actor::System(_) => None,
        }
    }

    /// The name the audit log records: the username, or the system's name.
    pub fn username(&self) -> &str {
        match self {
            Actor::User { username, .. } => username,
            Actor::System(name) => name,
        }
    }

    /// The name a timeline shows: the person's display name, or the system's name.
    pub fn display_name(&self) -> &str {
        match self {
            Actor::User { display_name, .. } => display_name,
            Actor::System(name) => name,
        }
    }
}

/// Every action code the code base writes, with the words the audit page shows for it. A test
/// reads the sources and fails when a code is written that this table does not name.
pub const ACTIONS: [(&str, &str); 145] = [
    ("auth.login", "登录"),
    ("auth.login_failed", "登录失败"),
    ("user.create", "新建账号"),
    ("user.password", "修改密码"),
    ("resident.reveal", "查看完整身份信息"),
    ("resident.lookup", "按完整号码查找居民"),
    ("resident.duplicate", "重复登记被拒"),
    ("resident.create", "登记居民"),
    ("resident.tags", "修改居民标签"),
    ("resident.account_link", "关联居民本人账号"),
    ("council.appoint", "议事会任职"),
    ("council.dismiss", "议事会卸任"),
    ("opinion.record", "记录居民意见"),
    ("opinion.answer", "答复居民意见"),
    ("council.meeting", "安排议事会议"),
    ("council.checkin", "议事会议签到"),
    ("council.minutes", "记录会议纪要"),
    ("council.resolution_done", "决议办结"),
    ("household.create", "登记住户"),
    ("grid.create", "新建网格"),
    ("grid.update", "修改网格"),
    ("unit.create", "新建单位"),
    ("api_key.create", "签发接口密钥"),
    ("api_key.revoke", "停用接口密钥"),
    ("category.create", "新增案件类别"),
    ("category.update", "修改案件类别"),
    ("case.report", "上报案件"),
    ("case.attachment", "上传案件照片"),
    ("case.merge", "合并重复案件"),
    ("case.accept", "立案"),
    ("case.decline", "不予立案"),
    ("case.dispatch", "派遣"),
    ("case.start", "开始处置"),
    ("case.handle", "处置完成"),
    ("case.verify", "核查通过"),
    ("case.return", "退回返工"),
    ("case.close", "结案"),
    ("case.escalate", "上报上级网格"),
    ("case.whistle", "吹哨"),
    ("case.acknowledge", "吹哨报到"),
    ("case.supervise", "督办"),
    ("case.rate", "评价"),
    ("volunteer.register", "登记志愿者"),
    ("volunteer.link_request", "申请关联志愿者账号"),
    ("volunteer.link", "关联志愿者账号"),
    ("volunteer.link_refuse", "不同意关联志愿者账号"),
    ("volunteer.team_create", "新建志愿服务队"),
    ("volunteer.team_join", "加入志愿服务队"),
    ("volunteer.activity_create", "发布志愿活动"),
    ("volunteer.theme", "设定月度主题"),
    ("volunteer.sign_up", "活动报名"),
    ("volunteer.check_in", "活动签到"),
    ("volunteer.check_out", "活动签退"),
    ("volunteer.attendance", "标记出勤"),
    ("points.rule", "修改积分规则"),
    ("points.award", "发放积分"),
    ("points.correct", "积分更正"),
    ("shop.create", "新建爱心超市或商家"),
    ("shop.item_create", "新增兑换商品"),
    ("shop.item_update", "修改兑换商品"),
    ("shop.redeem", "积分兑换"),
    ("call.ring", "发起通话"),
    ("call.answer", "接听通话"),
    ("call.end", "结束通话"),
    ("broadcast.send", "发送通知或指令"),
    ("broadcast.ack", "确认收到指令"),
    ("broadcast.reply", "回复通知"),
    ("broadcast.remind", "提醒未读"),
    ("webhook.set", "设置外部群机器人"),
    ("demo.load", "载入演示数据"),
    ("map.import", "导入底图"),
    ("renovation.create", "新建改造项目"),
    ("renovation.advance", "改造项目进入下一阶段"),
    ("renovation.plan", "保存改造方案版本"),
    ("renovation.publish", "公示改造方案"),
    ("renovation.round_open", "发起改造征求意见"),
    ("renovation.round_close", "结束改造征求意见"),
    ("renovation.view", "记录住户改造意见"),
    ("renovation.report", "改造中发现问题上报"),
    ("renovation.file", "上传改造方案文件"),
    ("decision.register", "登记专有部分"),
    ("decision.create", "新建业主共同决定事项"),
    ("decision.open", "开始业主表决"),
    ("decision.close", "结束业主表决并公布结果"),
    ("decision.vote", "业主网上表决"),
    ("decision.paper", "录入纸质表决票"),
    ("stars.config", "设置五星支部标准"),
    ("stars.assess", "五星支部自评"),
    ("stars.submit", "提交五星支部自评"),
    ("stars.review", "街道审核五星支部"),
    ("stars.rate", "区级评定五星支部"),
    ("stars.file", "上传五星佐证材料"),
    ("property.compound", "维护小区物业服务情况"),
    ("property.step", "记录三无小区整治进展"),
    ("property.score", "物业服务考评打分"),
    ("property.publish", "公布物业红黑榜"),
    ("property.correction_done", "物业整改完成"),
    ("property.settings", "设置物业考评权重"),
    ("property.fee", "填报物业费收缴率"),
    ("party.org_create", "设立党组织"),
    ("party.member_create", "登记党员"),
    ("party.report", "党员双报到"),
    ("party.assign", "下沉党员干部分包"),
    ("party.post", "党员设岗定责"),
    ("party.consent", "党员亮身份公示意愿"),
    ("party.service", "记录党员服务"),
    ("party.model_nominate", "推荐党员示范户"),
    ("party.model_review", "审核党员示范户"),
    ("party.model_publish", "公布党员示范户"),
    ("care.visit", "记录关爱走访"),
    ("care.schedule", "设置关爱走访周期"),
    ("frontage.agreement", "签订门前三包责任书"),
    ("frontage.check", "门前三包检查"),
    ("frontage.notice", "门前三包整改通知"),
    ("services.need", "登记服务需求"),
    ("services.resource", "登记服务资源"),
    ("services.project", "建立服务项目"),
    ("services.result", "登记项目成果"),
    ("services.booking", "预约功能室"),
    ("services.booking_cancel", "取消功能室预约"),
    ("services.reception", "登记接访"),
    ("services.reception_close", "接访办结"),
    ("proxy.kind", "维护红色代办事项目录"),
    ("proxy.create", "登记红色代办事项"),
    ("proxy.take", "领办红色代办事项"),
    ("proxy.step", "记录代办进展"),
    ("proxy.hand_over", "登记代办材料交接"),
    ("proxy.confirm", "居民确认材料交接"),
    ("proxy.return", "登记代办材料归还"),
    ("proxy.done", "红色代办事项办结"),
    ("proxy.rate", "录入居民对代办的评价"),
    ("mediation.create", "登记矛盾纠纷"),
    ("mediation.session", "记录纠纷调解"),
    ("mediation.outcome", "记录纠纷调解结果"),
    ("mediation.follow_up", "纠纷调解回访"),
    ("alarm_settings.update", "修改设备告警设置"),
    ("routing.train", "训练智能分派模型"),
    ("routing.settings", "设置智能分派"),
    ("ledger.export_full", "导出含完整个人信息的台账"),
    ("ledger.import", "批量导入台账"),
    ("campaign.launch", "发起专项行动"),
    ("campaign.team", "组建专项行动工作队"),
    ("campaign.spot", "登记专项行动点位"),
    ("campaign.spot_action", "处置专项行动点位"),
    ("campaign.inspect", "专项行动测评或复查"),
];

/// The words for an action code; a code this version does not know (written by a newer one) is
/// shown as 其他操作, never as the code.
pub fn action_label(code: &str) -> &'static str {
    ACTIONS.iter().find(|a| a.0 == code).map_or("其他操作", |a| a.1)
}

/// The words for the kind of thing an entry is about.
pub fn target_label(kind: &str) -> &'static str {
    match kind {
        "user" => "账号",
        "resident" => "居民",
        "household" => "住户",
        "grid" => "网格",
        "unit" => "单位",
        "api_key" => "接口密钥",
        "case" => "案件",
        "case_category" => "案件类别",
        "volunteer" => "志愿者",
        "volunteer_team" => "志愿服务队",
        "volunteer_activity" => "志愿活动",
        "points_rule" => "积分规则",
        "points_transaction" => "积分记录",
        "shop" => "爱心超市或商家",
        "shop_item" => "兑换商品",
        "redemption" => "兑换记录",
        "call" => "通话",
        "district" => "全区",
        "broadcast" => "通知",
        "webhook" => "外部群机器人",
        "renovation" => "改造项目",
        "decision" => "业主共同决定",
        "star_card" => "五星评星表",
        "party_org" => "党组织",
        "party_member" => "党员",
        "proxy_kind" => "代办事项目录",
        "proxy_matter" => "红色代办事项",
        "dispute" => "矛盾纠纷",
        "alarm_settings" => "设备告警设置",
        "service_need" => "服务需求",
        "service_resource" => "服务资源",
        "service_project" => "服务项目",
        "room_booking" => "功能室预约",
        "site_reception" => "接访登记",
        "ledger" => "台账",
        "frontage_agreement" => "门前三包责任书",
        _ => "其他",
    }
}

pub struct Entry<'a> {
    pub district: &'a str,
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: &'a str,
    pub reason: &'a str,
    pub detail: serde_json::Value,
}

/// Write one audit row as the next link of the audit chain ([`chain`]), in the writer's
/// transaction. On PostgreSQL this locks the chain head until the transaction ends, so it is best
/// the transaction's last write: the lock is then held briefly, and no transaction holding it
/// waits for a row another writer holds while waiting for the head.
pub async fn record(tx: &mut Tx, actor: Actor<'_>, e: Entry<'_>) -> sqlx::Result<()> {
    let detail = e.detail.to_string();
    chain::append(tx, content(&actor, &e, &detail, now_ms())).await?;
    Ok(())
}

/// The chain's content of an entry (its `seq` is set when appended).
fn content<'a>(actor: &'a Actor<'_>, e: &'a Entry<'_>, detail: &'a str, at_ms: i64) -> chain::Content<'a> {
    chain::Content {
        seq: 0,
        id: new_id(),
        district: e.district,
        at_ms,
        actor_id: actor.id(),
        actor_name: actor.username(),
        action: e.action,
        target_kind: e.target_kind,
        target_id: e.target_id,
        reason: e.reason,
        detail,
    }
}

/// [`record`] for many rows at once, in order (a group commit's batch): one lock of the chain's
/// head and a few multi-row statements.
pub async fn record_many(tx: &mut Tx, entries: &[(Actor<'_>, Entry<'_>)]) -> sqlx::Result<()> {
    let details: Vec<String> = entries.iter().map(|(_, e)| e.detail.to_string()).collect();
    let at_ms = now_ms();
    let rows = entries
        .iter()
        .zip(&details)
        .map(|((actor, e), detail)| content(actor, e, detail, at_ms))
        .collect();
    chain::append_many(tx, rows).await
}

#[derive(sqlx::FromRow, Serialize, utoipa::ToSchema, Debug)]
pub struct AuditRow {
    pub id: Uuid,
    /// The row's place in the audit chain (1, 2, 3 …, over the whole database).
    pub seq: i64,
    pub at_ms: i64,
    pub actor_name: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub reason: String,
    pub detail: String,
}

pub async fn list(db: &Db, district: &str, action: Option<&str>, limit: i64, offset: i64) -> sqlx::Result<(Vec<AuditRow>, i64)> {
    let action = action.filter(|a| !a.is_empty());
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, AuditRow>(
            "SELECT id, seq, at_ms, actor_name, action, target_kind, target_id, reason, detail FROM audit_log \
             WHERE district = $1 AND ($2 IS NULL OR action = $2) ORDER BY at_ms DESC, id DESC LIMIT $3 OFFSET $4",
        )
        .bind(district)
        .bind(action)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE district = $1 AND ($2 IS NULL OR action = $2)")
            .bind(district)
            .bind(action)
            .fetch_one(p)
            .await?;
        Ok((rows, total))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The string literals of a line that look like an action code (`case.close`).
    fn codes_in(line: &str) -> Vec<String> {
        line.split('"')
            .skip(1)
            .step_by(2)
            .filter(|lit| {
                let mut parts = lit.split('.');
                let ok = |s: Option<&str>| s.is_some_and(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
                ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
            })
            .map(String::from)
            .collect()
    }

    /// Every action code the sources write: literals given as an entry's `action` or to the
    /// sign-in recorder, and `case.` + each workflow action's name (written by `format!`).
    fn written_codes() -> Vec<String> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut codes = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).expect("read source");
            for line in text.lines() {
                if line.contains("action: \"") || line.contains("record_login(") {
                    codes.extend(codes_in(line));
                }
                if let Some((_, rest)) = line.split_once("format!(\"")
                    && let Some((prefix, _)) = rest.split_once(".{}\", action.name()")
                {
                    let workflow = std::fs::read_to_string(src.join("cases/workflow.rs")).expect("read workflow");
                    let body = workflow.split("pub fn name(&self)").nth(1).expect("Action::name");
                    let body = &body[..body.find("\n    }\n").expect("end of name()")];
                    for arm in body.lines().filter_map(|l| l.split_once("=> \"")) {
                        codes.push(format!("{prefix}.{}", arm.1.trim_end_matches(['"', ','])));
                    }
                }
            }
        }
        codes.sort();
        codes.dedup();
        codes
    }

    #[test]
    fn every_action_code_written_has_words() {
        let codes = written_codes();
        // The scan itself must find the codes it is meant to find.
        for known in [
            "auth.login",
            "auth.login_failed",
            "case.close",
            "case.report",
            "resident.reveal",
            "shop.redeem",
        ] {
            assert!(codes.iter().any(|c| c == known), "the scan missed {known}: {codes:?}");
        }
        let missing: Vec<&String> = codes.iter().filter(|c| !ACTIONS.iter().any(|a| a.0 == c.as_str())).collect();
        assert!(
            missing.is_empty(),
            "action codes written without words in audit::ACTIONS: {missing:?}"
        );
    }

    /// Transactions that write after their audit row, so that on PostgreSQL they hold the chain
    /// head while taking other row locks: (file under src/, function). Each can wait on a row
    /// that a transaction waiting for the head holds (a deadlock PostgreSQL resolves by failing
    /// one), and holds every other audited writer up meanwhile. Moving the audit row to just
    /// before the commit removes the entry here (docs/next.md).
    const WRITES_AFTER_AUDIT: [(&str, &str); 0] = [];

    /// Every `audit::record` call and what follows it up to the next commit: `(file, function,
    /// line, writes after it)`, where a write is any use of the transaction.
    fn record_calls() -> Vec<(String, String, usize, bool)> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut out = Vec::new();
        for f in files {
            let rel = f.strip_prefix(&src).expect("under src").to_string_lossy().replace('\\', "/");
            if rel.starts_with("audit/") {
                continue;
            }
            let text = std::fs::read_to_string(&f).expect("read source");
            out.extend(calls_in(&rel, &text));
        }
        out
    }

    /// The `audit::record` calls of one source text (see `record_calls`).
    fn calls_in(rel: &str, text: &str) -> Vec<(String, String, usize, bool)> {
        let mut out = Vec::new();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.contains("audit::record(") {
                continue;
            }
            let function = lines[..i]
                .iter()
                .rev()
                .find_map(|l| l.split_once("fn ").filter(|(pre, _)| !pre.contains("//")))
                .map(|(_, rest)| rest.split(['(', '<']).next().unwrap_or("").to_string())
                .unwrap_or_default();
            // The end of the call: the first `.await` at or after it.
            let end = (i..lines.len()).find(|&j| lines[j].contains(".await")).expect("an awaited call");
            let mut writes = false;
            for l in &lines[end + 1..] {
                if l.contains(".commit()") || l.starts_with('}') {
                    break;
                }
                writes |= l.contains("&mut tx") || l.contains("on_tx!(") || l.contains("(tx,");
            }
            out.push((rel.to_string(), function, i + 1, writes));
        }
        out
    }

    #[test]
    fn audit_rows_are_each_transactions_last_write_but_for_known_ones() {
        let calls = record_calls();
        assert!(calls.len() >= 30, "the scan found {} calls", calls.len());
        // The scan sees a write after the audit row where there is one.
        let late_one = "async fn pay(tx: &mut Tx) {\n    audit::record(\n        &mut tx,\n    )\n    .await?;\n    on_tx!(&mut tx, |c| x).await?;\n    tx.commit().await?;\n}\n";
        assert_eq!(calls_in("x.rs", late_one), vec![("x.rs".to_string(), "pay".to_string(), 2, true)]);
        let last = late_one.replace("    on_tx!(&mut tx, |c| x).await?;\n", "");
        assert!(!calls_in("x.rs", &last)[0].3);
        let late: Vec<_> = calls
            .iter()
            .filter(|c| c.3 && !WRITES_AFTER_AUDIT.contains(&(c.0.as_str(), c.1.as_str())))
            .collect();
        assert!(
            late.is_empty(),
            "write the audit row last, just before the commit (it locks the chain head on PostgreSQL): {late:?}"
        );
    }

    #[test]
    fn the_table_names_each_code_once_in_chinese() {
        for (i, (code, words)) in ACTIONS.iter().enumerate() {
            assert!(!ACTIONS[..i].iter().any(|a| a.0 == *code), "{code} twice");
            assert!(!words.is_ascii(), "{code}: {words}");
        }
        assert_eq!(action_label("case.close"), "结案");
        assert_eq!(action_label("resident.reveal"), "查看完整身份信息");
        assert_eq!(action_label("something.new"), "其他操作");
    }
}
