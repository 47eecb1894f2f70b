//! The demo's broadcasts (五群): accounts for the leaders of every street and community (and the
//! first community's compounds), four months of notices and instructions from the district, the
//! streets and the communities with their receipts (most read, some not; most instructions
//! acknowledged, the newest still open) and a few replies; and outside groups linked at a few
//! nodes but disabled, so nothing leaves the machine.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::plan::Plan;
use super::{V, bulk};
use crate::auth::{Role, store as auth_store};
use crate::broadcasts::{rules, store};
use crate::db::{Tx, new_id};

/// (level sent at, kind, title, body). Realistic subjects of a district's year.
const SUBJECTS: [(i64, &str, &str, &str); 24] = [
    (
        1,
        "instruction",
        "关于做好汛期防汛值守工作的紧急通知",
        "气象部门预报未来三天有强降雨，请各街道、社区立即落实24小时值班值守，排查低洼易涝点和危旧房屋，发现险情第一时间上报指挥中心。",
    ),
    (
        1,
        "notice",
        "全区创建全国文明城市迎检工作部署",
        "迎检工作进入冲刺阶段，请各网格对照测评标准，重点整治背街小巷环境卫生、楼道杂物堆放和非机动车乱停乱放。",
    ),
    (
        1,
        "instruction",
        "燃气安全专项排查整治工作要求",
        "请各社区组织网格员、物业对辖区餐饮场所和老旧小区开展燃气安全入户排查，建立问题台账，本周五前报送排查结果。",
    ),
    (
        1,
        "notice",
        "反诈宣传进社区活动安排",
        "公安分局将在各社区开展反电信网络诈骗宣传，请社区协助组织居民参加，重点关注老年人群体，推广安装国家反诈中心App。",
    ),
    (
        1,
        "notice",
        "新冠及流感疫苗接种服务安排",
        "区卫健委安排各社区卫生服务中心周六上午开放接种，请网格员通知辖区60岁以上老年人和慢性病患者有序前往。",
    ),
    (
        1,
        "instruction",
        "高温天气安全生产和防暑降温工作通知",
        "近期持续高温，请各街道督促建筑工地、户外作业单位落实防暑措施，关注独居老人、困难群众，发现异常及时处置。",
    ),
    (
        2,
        "notice",
        "街道网格员业务培训通知",
        "定于本周四下午三点在街道办三楼会议室召开网格员业务培训会，内容为网格事件上报流程和基础信息采集规范，请准时参加。",
    ),
    (
        2,
        "instruction",
        "电动自行车违规充电专项整治",
        "请各社区组织对辖区小区楼道、地下室飞线充电情况进行排查，督促物业清理，发现问题拍照上报并限期整改。",
    ),
    (
        2,
        "notice",
        "人口信息核查工作安排",
        "为做好实有人口动态管理，请各社区组织网格员入户核查出租房屋和流动人口信息，做到底数清、情况明。",
    ),
    (
        2,
        "instruction",
        "防汛物资检查与应急队伍集结演练",
        "请各社区于明日上午九点前完成防汛沙袋、抽水泵等物资清点，并组织应急分队在社区广场集结演练。",
    ),
    (
        2,
        "notice",
        "垃圾分类宣传周活动通知",
        "本周为垃圾分类宣传周，请各社区在小区出入口设置宣传点，组织志愿者开展桶边督导。",
    ),
    (
        2,
        "notice",
        "春节前安全隐患大排查",
        "春节将至，请各社区联合物业对商铺、出租屋和老旧小区开展消防和用电安全大排查。",
    ),
    (
        3,
        "notice",
        "本周末社区志愿服务活动招募",
        "本周六上午社区将开展“清洁家园”志愿服务活动，请各小区网格长动员楼栋信息员和居民志愿者参加。",
    ),
    (
        3,
        "instruction",
        "楼道杂物清理限期整改",
        "经巡查，部分楼栋楼道仍有杂物堆放，请各小区网格长督促楼栋信息员本周五前完成清理，并回复整改情况。",
    ),
    (
        3,
        "notice",
        "社区居民议事会召开通知",
        "定于下周二晚七点在社区党群服务中心召开居民议事会，议题为小区停车管理和加装电梯，请各网格长通知居民代表参加。",
    ),
    (
        3,
        "notice",
        "老年人免费体检通知",
        "社区卫生服务站下周一至周三为65岁以上老年人提供免费体检，请楼栋信息员逐户告知。",
    ),
    (
        3,
        "instruction",
        "独居老人入户走访任务",
        "请各小区网格长和楼栋信息员本周内完成对辖区独居、空巢老人的入户走访，了解生活和健康情况并回复。",
    ),
    (
        3,
        "notice",
        "停水停电信息告知",
        "供电公司将于周四上午八点至十二点检修线路，请楼栋信息员提前通知居民做好准备。",
    ),
    (
        1,
        "notice",
        "区委区政府重点工作周调度",
        "请各街道于每周五下午五点前报送本周重点工作进展和需协调解决的问题。",
    ),
    (
        2,
        "notice",
        "疫苗接种流动服务点安排",
        "街道社区卫生服务中心将在各社区设置流动接种点，请社区提前摸排行动不便老人需求。",
    ),
    (
        3,
        "notice",
        "反诈知识楼栋宣传",
        "请各楼栋信息员在楼栋宣传栏张贴反诈宣传海报，并在楼栋微信群转发反诈提示。",
    ),
    (
        1,
        "instruction",
        "森林防灭火和秸秆禁烧工作要求",
        "进入防火关键期，请涉农街道落实网格巡查，严禁焚烧秸秆和野外用火，发现火情立即报告。",
    ),
    (
        2,
        "instruction",
        "创文迎检背街小巷整治任务",
        "请各社区对照整治清单，三日内完成背街小巷乱堆乱放、乱贴乱画清理，并拍照回复。",
    ),
    (
        3,
        "instruction",
        "燃气安全入户排查回复",
        "请各小区网格长配合燃气公司完成入户安全检查，未检住户登记后回复社区。",
    ),
];

const REPLIES: [&str; 8] = [
    "收到，已安排落实。",
    "已完成排查，未发现问题。",
    "本网格已通知到户。",
    "已组织人员值守，有情况随时报告。",
    "已清理完毕，照片已上报。",
    "收到，明天上午前完成。",
    "部分住户不在家，已登记，下周补查。",
    "物业已配合完成整改。",
];

/// Accounts, broadcasts, receipts, replies and disabled webhooks. Returns a line for the summary.
pub async fn insert(tx: &mut Tx, p: &Plan, hash: &str, seed: u64, now: i64) -> anyhow::Result<String> {
    let started = std::time::Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5e17_b0ad);
    let district = p.district_code;
    // Leaders of every street and community, and of the first community's compounds, as
    // accounts (the first of each level is already a demo account).
    let first = |level: i64| p.grids.iter().find(|g| g.level == level).map(|g| g.code.clone());
    let (first_street, first_community, first_compound) = (first(2), first(3), first(4));
    let mut senders: Vec<(String, Uuid, String)> = Vec::new(); // (node, user, name) of streets and communities
    let mut accounts = 0;
    for g in &p.grids {
        let role = match g.level {
            2 => Role::StreetStaff,
            3 => Role::CommunityStaff,
            4 if first_community.as_deref().is_some_and(|c| g.code.starts_with(c)) => Role::CompoundLeader,
            _ => continue,
        };
        if [&first_street, &first_community, &first_compound]
            .iter()
            .any(|f| f.as_deref() == Some(g.code.as_str()))
        {
            continue;
        }
        let name = g
            .contacts
            .iter()
            .find(|c| c.0 == "leader")
            .map(|c| c.1.clone())
            .unwrap_or_else(|| g.name.clone());
        let id = auth_store::insert_user(tx, district, &format!("wg{}", g.code), &name, hash).await?;
        auth_store::insert_post(tx, district, id, role, Some(&g.code), None).await?;
        accounts += 1;
        if g.level <= 3 {
            senders.push((g.code.clone(), id, name));
        }
    }
    // The demo's own street and community accounts send too.
    for (username, code) in [("street", &first_street), ("community", &first_community)] {
        let Some(code) = code else { continue };
        let row: Option<(Uuid, String)> = crate::on_tx!(&mut *tx, |c| sqlx::query_as(
            "SELECT id, display_name FROM users WHERE username = $1"
        )
        .bind(username)
        .fetch_optional(&mut *c)
        .await)?;
        if let Some((id, name)) = row {
            senders.push((code.clone(), id, name));
        }
    }
    let admin: Option<(Uuid, String)> = crate::on_tx!(&mut *tx, |c| sqlx::query_as(
        "SELECT id, display_name FROM users WHERE username = 'admin'"
    )
    .fetch_optional(&mut *c)
    .await)?;
    let Some(admin) = admin else { return Ok(String::new()) };

    // Four months of broadcasts: a few a week from the district, more from streets and communities.
    let (mut b_rows, mut r_rows, mut reply_rows) = (Vec::new(), Vec::new(), Vec::new());
    let (mut n_broadcasts, mut n_receipts) = (0usize, 0usize);
    let days = 120;
    let count = 40 + senders.len().min(97) * 2;
    let mut planned: Vec<(i64, usize, String, Uuid, String)> = Vec::new(); // (at, subject, node, sender, name)
    for _ in 0..count {
        let s = rng.random_range(0..SUBJECTS.len());
        let (level, ..) = SUBJECTS[s];
        let (node, sender, name) = if level == 1 {
            (district.to_string(), admin.0, admin.1.clone())
        } else {
            let pool: Vec<&(String, Uuid, String)> = senders.iter().filter(|x| rules::level_of(&x.0) == Some(level)).collect();
            if pool.is_empty() {
                continue;
            }
            // The first street and community send more, so the demo accounts' pages are full.
            let x = if rng.random_bool(0.3) {
                pool.iter()
                    .find(|x| Some(&x.0) == first_street.as_ref() || Some(&x.0) == first_community.as_ref())
                    .unwrap_or(&pool[0])
            } else {
                &pool[rng.random_range(0..pool.len())]
            };
            (x.0.clone(), x.1, x.2.clone())
        };
        let at = now - rng.random_range(3_600_000..days * 86_400_000);
        planned.push((at, s, node, sender, name));
    }
    // The newest: an instruction at the district and a notice at the first community, still open.
    planned.push((now - 1_800_000, 0, district.to_string(), admin.0, admin.1.clone()));
    if let Some(c) = senders.iter().find(|x| Some(&x.0) == first_community.as_ref()) {
        planned.push((now - 900_000, 12, c.0.clone(), c.1, c.2.clone()));
    }
    planned.sort_by_key(|x| x.0);
    for (at, s, node, sender, sender_name) in planned {
        let (_, kind, title, body) = SUBJECTS[s];
        let node_level = rules::level_of(&node).unwrap_or(1);
        // Mostly the whole subtree; sometimes only the level right below, as a real office would.
        let mask = if node_level < 5 && rng.random_bool(0.25) {
            rules::levels_mask(Some(&[node_level + 1]), node_level).unwrap_or(rules::ALL_LEVELS)
        } else {
            rules::levels_mask(None, node_level).unwrap_or(rules::ALL_LEVELS)
        };
        let mut people = store::candidates(tx, district, &node).await?;
        people.retain(|c| rules::selects(mask, c.level) && c.user_id != sender);
        people.sort_by(|a, b| (a.user_id, a.grid_code.len(), &a.grid_code).cmp(&(b.user_id, b.grid_code.len(), &b.grid_code)));
        people.dedup_by_key(|c| c.user_id);
        let id = new_id();
        let age_days = (now - at) / 86_400_000;
        let fresh = now - at < 2 * 3_600_000;
        let (mut read, mut acked, mut replies) = (0i64, 0i64, 0i64);
        for c in &people {
            // Older messages are read by almost everyone; the newest by none yet.
            let p_read = if fresh { 0.0 } else { (0.7 + age_days as f64 * 0.01).min(0.97) };
            let r_at = rng
                .random_bool(p_read)
                .then(|| at + rng.random_range(60_000..172_800_000).min(now - at - 1).max(1));
            let a_at = match (kind, r_at) {
                ("instruction", Some(r)) if rng.random_bool(0.85) => Some(r + rng.random_range(1_000..3_600_000).min((now - r - 1).max(1))),
                _ => None,
            };
            read += i64::from(r_at.is_some());
            acked += i64::from(a_at.is_some());
            r_rows.push(vec![
                V::U(id),
                V::U(c.user_id),
                V::T(district.into()),
                V::T(c.grid_code.clone()),
                V::I(c.level),
                V::I(at),
                r_at.map(V::I).unwrap_or(V::NullI),
                a_at.map(V::I).unwrap_or(V::NullI),
            ]);
            if let Some(r) = r_at
                && rng.random_bool(0.06)
            {
                let text = REPLIES[rng.random_range(0..REPLIES.len())];
                let name: Option<String> = crate::on_tx!(&mut *tx, |x| sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
                    .bind(c.user_id)
                    .fetch_optional(&mut *x)
                    .await)?;
                reply_rows.push(vec![
                    V::U(new_id()),
                    V::U(id),
                    V::T(district.into()),
                    V::U(c.user_id),
                    V::T(name.unwrap_or_default()),
                    V::T(text.into()),
                    V::I(r + 60_000),
                ]);
                replies += 1;
            }
        }
        n_receipts += people.len();
        n_broadcasts += 1;
        b_rows.push(vec![
            V::U(id),
            V::T(district.into()),
            V::T(node),
            V::T(kind.into()),
            V::T(title.into()),
            V::T(body.into()),
            V::I(mask),
            V::U(sender),
            V::T(sender_name),
            V::I(people.len() as i64),
            V::I(read),
            V::I(acked),
            V::I(replies),
            V::I(at),
        ]);
    }
    let pb = indicatif::ProgressBar::hidden();
    bulk(
        tx,
        "broadcasts",
        &[
            "id",
            "district",
            "grid_code",
            "kind",
            "title",
            "body",
            "levels",
            "sender_id",
            "sender_name",
            "recipients",
            "read_count",
            "acked_count",
            "replies",
            "created_at",
        ],
        b_rows,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "broadcast_recipients",
        &[
            "broadcast_id",
            "user_id",
            "district",
            "grid_code",
            "level",
            "sent_at",
            "read_at",
            "acked_at",
        ],
        r_rows,
        &pb,
    )
    .await?;
    let n_replies = reply_rows.len();
    bulk(
        tx,
        "broadcast_replies",
        &["id", "broadcast_id", "district", "user_id", "user_name", "body", "created_at"],
        reply_rows,
        &pb,
    )
    .await?;
    // Outside groups at the district, the first street and the first community, to a local
    // address and disabled: the demo shows how they are linked and sends nothing.
    let hooks = [
        (
            Some(district.to_string()),
            "wecom",
            "http://127.0.0.1:9/cgi-bin/webhook/send?key=demo",
            "",
        ),
        (
            first_street,
            "dingtalk",
            "http://127.0.0.1:9/robot/send?access_token=demo",
            "SECdemo0000000000000000000000000000000000000000000000000000000000",
        ),
        (first_community, "generic", "http://127.0.0.1:9/gongzhi/broadcasts", ""),
    ];
    for (code, kind, url, secret) in hooks {
        let Some(code) = code else { continue };
        let sealed = (!secret.is_empty()).then(|| crate::sealed::ring().seal(secret));
        let sealed_url = crate::sealed::ring().seal(url);
        let row = store::HookRow {
            district,
            grid_code: &code,
            kind,
            url: &sealed_url,
            secret: sealed.as_deref(),
            enabled: false,
        };
        store::upsert_webhook(tx, &row, now).await?;
    }
    Ok(format!(
        "{n_broadcasts} notices and instructions with {n_receipts} receipts and {n_replies} replies ({accounts} leader accounts) in {:.1}s",
        started.elapsed().as_secs_f64()
    ))
}
