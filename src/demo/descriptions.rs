//! Varied case descriptions for the demo (案件描述): per category, what was seen in several words,
//! with places, times, quantities and the way officers and residents finish a report, so a
//! classifier trained on the demo has something real to learn and held-out figures mean something.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Per category: what was seen (the core), and details that may follow it.
const CORES: &[(&str, &[&str], &[&str])] = &[
    (
        "SQ01",
        &[
            "垃圾桶满溢未及时清运",
            "绿化带内垃圾堆积",
            "有建筑垃圾堆放",
            "生活垃圾散落一地",
            "垃圾箱周边污水横流",
            "垃圾清运不及时",
            "装修垃圾随意倾倒",
            "垃圾没人收",
        ],
        &["气味很大", "苍蝇蚊子多", "夏天臭得不行", "已经堆了好几天", "环卫没来拉"],
    ),
    (
        "SQ02",
        &[
            "电动车占用消防通道",
            "私家车长期占用盲道",
            "出入口车辆乱停",
            "车辆乱停乱放堵住路口",
            "有车停在消防通道上",
            "僵尸车长期停放",
            "三轮车堵在单元门口",
            "外来车辆乱停",
        ],
        &[
            "救护车进不来",
            "行人只能走机动车道",
            "车主联系不上",
            "挪车电话打不通",
            "早晚高峰堵死",
        ],
    ),
    (
        "SQ03",
        &[
            "电动车飞线充电",
            "从窗户拉线给电动车充电",
            "私拉电线充电",
            "楼道里给电瓶车充电",
            "插线板从楼上吊下来充电",
            "电动车推进楼道充电",
        ],
        &["晚上一直充到天亮", "电线横穿过道", "容易起火", "线都老化了", "劝了不听"],
    ),
    (
        "SQ04",
        &[
            "楼上有人向下扔杂物",
            "阳台花盆有坠落风险",
            "高空抛物砸到车",
            "楼上往下扔垃圾袋",
            "窗台上东西摇摇欲坠",
            "空调外机支架松动",
        ],
        &["差点砸到人", "楼下有小孩玩", "不知道是哪一层扔的", "大风天更危险"],
    ),
    (
        "SQ05",
        &[
            "楼顶私搭彩钢房",
            "一楼住户私自扩建院墙",
            "违建阳光房",
            "私自加盖一层",
            "占用公共绿地搭建棚子",
            "私搭乱建围墙",
        ],
        &["正在施工", "已经盖了一半", "影响邻居采光", "城管来过没处理完"],
    ),
    (
        "SQ06",
        &[
            "公共绿地被开垦种菜",
            "绿化带内种植蔬菜",
            "毁绿种菜",
            "草坪被挖了种葱",
            "绿化带被圈起来种菜",
            "公共绿地上浇粪施肥",
        ],
        &["味道难闻", "绿化都毁了", "还搭了竹竿架子", "越种越多"],
    ),
    (
        "SQ07",
        &[
            "楼道内堆放杂物",
            "单元门口堆放旧家具",
            "楼梯间堆满纸箱",
            "消防通道堆放杂物",
            "楼道里放了旧沙发",
            "过道堆满废品",
        ],
        &["挡住了疏散通道", "有火灾隐患", "进出都得侧身", "堆了快一个月"],
    ),
    (
        "SQ08",
        &[
            "邻里因噪音发生纠纷",
            "楼上漏水引发邻里矛盾",
            "邻居因停车位吵架",
            "两户因宠物扰民起争执",
            "邻里因装修发生口角",
            "邻居之间为公共空间闹矛盾",
        ],
        &["双方情绪激动", "需要社区调解", "吵了好几次", "差点动手"],
    ),
    (
        "BJ01",
        &[
            "井盖缺失",
            "路灯不亮",
            "井盖破损下陷",
            "路灯杆倾斜",
            "雨水箅子丢了",
            "整排路灯都不亮",
        ],
        &["晚上黑乎乎的", "有人差点踩空", "骑车的容易摔", "已经坏了一周"],
    ),
    (
        "BJ02",
        &[
            "人行道地砖破损",
            "交通标志牌倾斜",
            "路面坑洼不平",
            "护栏被撞坏",
            "人行道砖松动翘起",
            "减速带脱落",
        ],
        &["下雨溅一身水", "老人容易绊倒", "过往车辆颠簸", "一直没人修"],
    ),
    (
        "BJ03",
        &[
            "公共厕所设施损坏",
            "垃圾箱破损",
            "公厕没水冲不了",
            "果皮箱倒了",
            "公共座椅坏了",
            "公厕门锁坏了",
        ],
        &["用不了", "脏得没法进", "游客也反映", "坏了很久了"],
    ),
    (
        "BJ04",
        &[
            "行道树枯死",
            "绿篱缺株",
            "树枝挡住路灯",
            "大树歪倒压着电线",
            "树木病虫害严重",
            "草坪大片枯黄",
        ],
        &["刮风有危险", "树叶都掉光了", "需要修剪", "看着很难看"],
    ),
    (
        "BJ05",
        &["危房外墙脱落", "老楼墙体开裂", "外墙瓷砖掉落", "房屋屋檐松动", "楼体出现裂缝"],
        &["砸下来很危险", "住户很担心", "下雨往屋里渗水", "裂缝越来越大"],
    ),
    (
        "SJ01",
        &[
            "沿街店铺占道经营",
            "流动摊贩占道",
            "水果摊摆到路中间",
            "早市占道堵路",
            "店铺把货摆到人行道上",
            "小摊小贩堵在学校门口",
        ],
        &["行人没法走", "车都过不去", "收摊后一地垃圾", "城管走了又回来"],
    ),
    (
        "SJ02",
        &[
            "违规张贴小广告",
            "广告牌破损",
            "电线杆上贴满牛皮癣",
            "楼道里喷涂小广告",
            "店招破损要掉",
            "墙上乱写乱画",
        ],
        &["影响市容", "刚清理又贴上", "风一吹晃得厉害", "到处都是办证电话"],
    ),
    (
        "SJ03",
        &[
            "工地夜间施工扰民",
            "渣土车抛洒",
            "工地扬尘严重",
            "施工噪音太大",
            "渣土车带泥上路",
            "夜里打桩声音大",
        ],
        &["半夜睡不着", "路上全是泥", "窗户都不敢开", "没有围挡"],
    ),
    (
        "SJ04",
        &[
            "夜市油烟扰民",
            "店外乱摆桌椅",
            "烧烤摊油烟熏人",
            "饭店油烟直排",
            "餐馆噪音扰民到深夜",
            "露天烧烤",
        ],
        &["窗户都是油", "呛得喘不上气", "喝酒划拳到凌晨", "衣服晾不了"],
    ),
    (
        "SJ05",
        &[
            "雨后路面积水",
            "电线杆倾斜",
            "下水道堵塞冒水",
            "电线垂下来很低",
            "路面塌陷",
            "水管爆裂",
        ],
        &["积水没过脚踝", "车辆熄火", "很危险", "绕道都绕不开"],
    ),
];

const PLACES: &[&str] = &[
    "",
    "",
    "楼下",
    "小区门口",
    "单元门口",
    "楼道里",
    "车棚旁",
    "小区东门",
    "小区西门",
    "路口",
    "菜市场旁",
    "学校附近",
    "公交站旁",
    "中心广场",
    "背街小巷",
    "后院",
];
const TIMES: &[&str] = &[
    "",
    "",
    "",
    "今天早上",
    "昨天晚上",
    "这两天",
    "最近一周",
    "一直",
    "每天晚上",
    "周末",
    "中午",
];
const ENDINGS: &[&str] = &[
    "",
    "",
    "",
    "，请尽快处理",
    "，麻烦管一管",
    "，居民反映强烈",
    "，已多次反映",
    "，存在安全隐患",
    "，请相关部门处理",
    "，望尽快解决",
];

/// Reports that say little of what: the details still hint, the core does not.
const VAGUE: &[&str] = &["这里有个问题", "情况需要现场看看", "有居民来反映问题", "发现一处隐患", "存在问题"];

fn pick<'a>(rng: &mut ChaCha8Rng, items: &'a [&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// A description of a case of `category`, drawn from `bytes` (the case id's random part, so the
/// demo's main generator is untouched). Unknown categories get `fallback`.
pub fn describe(category: &str, bytes: &[u8; 10], fallback: &str) -> String {
    let Some((_, cores, details)) = CORES.iter().find(|c| c.0 == category) else {
        return fallback.to_string();
    };
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&bytes[..8]);
    let mut rng = ChaCha8Rng::seed_from_u64(u64::from_le_bytes(seed) ^ 0xDE5C);
    // One in twenty-five says little; one in eight also names a second problem, of another kind.
    let core = if rng.random_bool(0.04) {
        pick(&mut rng, VAGUE)
    } else {
        pick(&mut rng, cores)
    };
    let also = if rng.random_bool(0.125) {
        let other = &CORES[rng.random_range(0..CORES.len())];
        if other.0 == category {
            String::new()
        } else {
            format!("，另外{}", pick(&mut rng, other.1))
        }
    } else {
        String::new()
    };
    let place = match rng.random_range(0..4) {
        0 => format!("{}号楼", rng.random_range(1..40)),
        _ => pick(&mut rng, PLACES).to_string(),
    };
    let time = pick(&mut rng, TIMES);
    let detail = if rng.random_bool(0.5) {
        format!("，{}", pick(&mut rng, details))
    } else {
        String::new()
    } + &also;
    let ending = pick(&mut rng, ENDINGS);
    match rng.random_range(0..3) {
        0 => format!("{time}{place}{core}{detail}{ending}"),
        1 => format!(
            "{place}{core}{detail}{}{ending}",
            if time.is_empty() {
                String::new()
            } else {
                format!("，{time}都这样")
            }
        ),
        _ => format!("反映：{place}{core}{detail}{ending}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_category_has_varied_descriptions() {
        for (code, cores, _) in CORES {
            let mut seen = std::collections::HashSet::new();
            let mut vague = 0;
            for i in 0..200u8 {
                let d = describe(code, &[i, i.wrapping_mul(7), 3, 4, 5, 6, 7, 8, 9, 10], "x");
                vague += usize::from(!cores.iter().any(|c| d.contains(c)));
                seen.insert(d);
            }
            assert!(seen.len() > 100, "{code}: {}", seen.len());
            assert!(vague < 40, "{code}: {vague} of 200 without their category's words");
        }
        assert_eq!(describe("ZZ99", &[0; 10], "原样"), "原样");
        // What the district's year of cases costs (`-- --nocapture` prints it).
        let started = std::time::Instant::now();
        let n: usize = (0..100_000u32)
            .map(|i| describe("SQ01", &[i as u8, (i >> 8) as u8, (i >> 16) as u8, 4, 5, 6, 7, 8, 9, 10], "").len())
            .sum();
        eprintln!("100,000 descriptions ({n} bytes) in {:?}", started.elapsed());
    }
}
