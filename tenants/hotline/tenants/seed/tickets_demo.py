"""Demo work orders for training and evaluating the routing classifier honestly.
(Mostly data — the phrase tables — hence over 400 lines.)

Each topic is a department's typical business, written as citizens phrase it on the
phone (templates × places × details × openers/closers), with the confusions real
hotlines have: noise goes to urban management, the police or ecology depending on its
source; water goes to the water company or to water affairs; a blocked road to urban
management or transport. Texts are composed at random from a seed, so a held-out split
still shares the vocabulary but not the sentences.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hotline.tenants.seed.data import JINAN, CityDemo, Dept
from hotline.tenants.seed.places_demo import ROADS


@dataclass(frozen=True)
class Topic:
    department: str  # department code in the demo tree
    templates: tuple[str, ...]
    details: tuple[str, ...]


TOPICS: tuple[Topic, ...] = (
    Topic(
        "urban",
        (
            "{place}附近有{detail}，影响通行和市容，",
            "{place}{detail}，已经持续{duration}了，",
            "反映{place}一带{detail}，晚上尤其严重，",
            "{place}门口{detail}，城管能不能来管一管，",
            "{place}路边{detail}，垃圾也没人清理，",
        ),
        (
            "流动摊贩占道经营",
            "商铺把货物摆到人行道上",
            "烧烤摊油烟扰民",
            "有人私搭乱建违章建筑",
            "广告牌破损有掉落危险",
            "垃圾桶满溢无人清运",
            "夜间施工噪音扰民",
            "渣土车沿路抛洒",
            "共享单车乱停乱放堵住盲道",
            "沿街店铺外放音响噪音很大",
        ),
    ),
    Topic(
        "housing",
        (
            "我们{place}的{detail}，物业一直推脱，",
            "{place}小区{detail}，找了开发商也没有结果，",
            "咨询一下{place}的{detail}问题，",
            "{place}新建楼盘{detail}，业主意见很大，",
        ),
        (
            "电梯经常故障困人",
            "楼顶漏水多次维修无果",
            "开发商逾期交房",
            "房产证迟迟办不下来",
            "物业费收费标准不透明",
            "老旧小区改造工程进度缓慢",
            "外墙保温层脱落",
            "住房公积金提取手续",
            "楼道消防通道被杂物堵塞物业不管",
        ),
    ),
    Topic(
        "ecology",
        (
            "{place}附近的{detail}，空气里一股怪味，",
            "举报{place}的{detail}，",
            "{place}周边{detail}，居民都不敢开窗，",
            "{place}有{detail}，河水都变色了，",
        ),
        (
            "工厂夜间偷排废气",
            "化工企业排放刺鼻气味",
            "小作坊往河里排污水",
            "露天焚烧垃圾和秸秆",
            "搅拌站粉尘污染严重",
            "养殖场臭味扰民",
            "工地扬尘没有覆盖",
            "汽修厂喷漆异味",
        ),
    ),
    Topic(
        "market",
        (
            "我在{place}的{detail}，要求退款商家不同意，",
            "投诉{place}一家店{detail}，",
            "{place}超市{detail}，希望市场监管部门查处，",
            "在{place}买东西遇到{detail}，",
        ),
        (
            "买到过期食品",
            "健身房办卡后跑路",
            "培训机构拒绝退费",
            "饭店卫生条件很差吃完拉肚子",
            "缺斤短两",
            "价格标签与结账价格不符",
            "网购商品质量问题商家不处理",
            "预付卡消费纠纷",
            "药店销售假冒商品",
        ),
    ),
    Topic(
        "transport",
        (
            "{place}的{detail}，司机态度也很差，",
            "反映{place}{detail}，",
            "{place}附近{detail}，存在安全隐患，",
            "{place}路段{detail}，希望交通部门处理，",
        ),
        (
            "出租车拒载绕路",
            "网约车乱收费",
            "道路坑洼不平车辆颠簸",
            "公路桥梁护栏损坏",
            "长途客运站票价不合理",
            "货车超载上路",
            "道路施工围挡占用车道时间太长",
            "驾校培训收费问题",
        ),
    ),
    Topic(
        "hrss",
        (
            "我在{place}的一家公司上班，{detail}，",
            "咨询{detail}的办理流程，我是{place}的，",
            "{place}某工地{detail}，工人们都很着急，",
            "反映{detail}，单位在{place}，",
        ),
        (
            "老板拖欠工资三个月",
            "公司不给缴纳社保",
            "辞职后不给开离职证明",
            "医保异地报销",
            "养老保险转移接续",
            "失业金申领",
            "农民工工资被拖欠",
            "劳动合同到期不续签也不给补偿",
            "社保卡补办",
        ),
    ),
    Topic(
        "education",
        (
            "孩子在{place}的学校，{detail}，",
            "咨询{place}{detail}的政策，",
            "反映{place}一所学校{detail}，",
            "{place}的幼儿园{detail}，家长们很担心，",
        ),
        (
            "学校乱收费",
            "小学入学划片",
            "老师在校外有偿补课",
            "课后服务收费问题",
            "学生作业负担太重",
            "幼儿园入园难",
            "校车安全隐患",
            "转学手续办理",
        ),
    ),
    Topic(
        "health",
        (
            "在{place}的医院{detail}，",
            "投诉{place}卫生院{detail}，",
            "{place}诊所{detail}，",
            "咨询{place}{detail}的相关规定，",
        ),
        (
            "看病排队时间太长",
            "医生态度恶劣",
            "过度检查乱收费",
            "疫苗接种预约不上",
            "无证行医",
            "住院押金退不回来",
            "病历复印手续繁琐",
            "家庭医生签约服务",
        ),
    ),
    Topic(
        "police",
        (
            "{place}楼上邻居{detail}，",
            "{place}{detail}，请派出所处理，",
            "我在{place}{detail}，",
            "举报{place}有{detail}，",
        ),
        (
            "半夜大声喧哗吵得睡不着",
            "电动车被盗",
            "遭遇电信诈骗",
            "身份证丢失补办",
            "户口迁移手续",
            "有人聚众赌博",
            "养狗不拴绳咬伤人",
            "改装车辆夜间炸街",
            "居住证办理",
        ),
    ),
    Topic(
        "civil",
        (
            "{place}的{detail}，",
            "咨询{detail}的申请条件，我家在{place}，",
            "{place}社区{detail}，",
        ),
        (
            "低保申请审核太慢",
            "养老院服务质量差",
            "残疾人补贴没有发放",
            "高龄津贴申领",
            "婚姻登记预约",
            "殡葬服务收费不合理",
            "困难家庭临时救助",
        ),
    ),
    Topic(
        "water",
        (
            "{place}{detail}，一直没有人来修，",
            "{place}的住户反映{detail}，",
            "{place}小区{detail}，影响正常生活，",
            "{place}{detail}，请自来水公司尽快处理，",
        ),
        (
            "突然停水也没有提前通知",
            "自来水发黄有异味",
            "水压太低高层用不上水",
            "水管爆裂路面冒水",
            "水表计量不准水费异常",
            "供水管道老化经常漏水",
        ),
    ),
    Topic(
        "water-affairs",
        (
            "{place}附近的{detail}，",
            "{place}一带{detail}，下雨天更严重，",
            "反映{place}{detail}，",
        ),
        (
            "下水道堵塞污水外溢",
            "雨水井盖缺失",
            "河道里漂满垃圾",
            "路面积水排不出去",
            "污水管网没有接通",
            "护城河水质变差",
        ),
    ),
    Topic(
        "power",
        (
            "{place}{detail}，冰箱里的东西都坏了，",
            "{place}的居民反映{detail}，",
            "{place}{detail}，请供电公司抢修，",
        ),
        (
            "频繁停电",
            "电压不稳灯一闪一闪",
            "电线杆倾斜有危险",
            "变压器噪音很大",
            "电费计费有误",
            "电动汽车充电桩报装",
        ),
    ),
    Topic(
        "gas",
        (
            "{place}{detail}，很担心安全，",
            "{place}的{detail}，",
            "{place}{detail}，请燃气公司派人检查，",
        ),
        (
            "楼道里有燃气泄漏的味道",
            "燃气表走字异常",
            "天然气开户手续繁琐",
            "燃气管道改造迟迟不施工",
            "冬季供暖燃气压力不足",
            "燃气公司上门安检乱收费",
        ),
    ),
    Topic(
        "bus",
        (
            "{place}{detail}，",
            "乘坐经过{place}的公交车，{detail}，",
            "建议{place}{detail}，",
        ),
        (
            "公交车到站不停",
            "公交司机开车太猛",
            "公交车发车间隔太长",
            "公交站牌信息错误",
            "增设一条公交线路",
            "公交卡充值不方便",
        ),
    ),
)

# Phrases several departments receive (which one gets it depends on details a short
# text often omits) and the share of historical tickets that went to a department
# other than the usual one (misdispatch, local arrangements): the honest noise.
CONFUSABLE: dict[str, tuple[str, ...]] = {
    "噪音很大晚上睡不着": ("urban", "police", "ecology"),
    "墙面和管道漏水": ("water", "housing", "water-affairs"),
    "路面坑洼积水": ("transport", "urban", "water-affairs"),
    "收费不合理": ("market", "health", "education", "gas"),
    "服务态度差": ("bus", "health", "transport", "market"),
    "有安全隐患": ("gas", "power", "housing", "emergency"),
}
CONFUSABLE_SHARE = 0.12
MISROUTED_SHARE = 0.04

OPENERS = ("", "您好，", "你好，我想反映个事，", "我是附近居民，", "我要投诉，", "麻烦问一下，")
CLOSERS = (
    "希望有关部门尽快处理。",
    "请尽快解决，谢谢。",
    "已经反映过好几次了。",
    "麻烦给个答复。",
    "",
    "希望早日解决。",
)
DURATIONS = ("一个星期", "半个多月", "好几天", "两个月", "很长时间")


def _places(city: CityDemo) -> list[str]:
    names: list[str] = []

    def walk(nodes: Sequence[Dept]) -> None:
        for node in nodes:
            if node.kind in ("district", "street", "community"):
                names.append(node.name)
            walk(node.children)

    walk(city.departments)
    return [*names, *ROADS.get(city.slug, ROADS["jinan"])]


@dataclass(frozen=True)
class DemoTicket:
    content: str
    department: str  # department code


def generate(
    *, per_topic: int, seed: int = 2026, city: CityDemo = JINAN, noise: bool = True
) -> list[DemoTicket]:
    """``per_topic`` varied tickets for each topic, reproducible from ``seed``, naming
    ``city``'s places; each text a whole sentence. Without ``noise``, no confusable
    phrase and no misrouted label: each text is its topic's, as its category must fit
    (the statistics history, :mod:`.stats_demo`)."""
    rng = random.Random(seed)  # noqa: S311 — demo data, not security
    places = _places(city)
    codes = [t.department for t in TOPICS]
    confusable, misrouted = (CONFUSABLE_SHARE, MISROUTED_SHARE) if noise else (0.0, 0.0)
    out: list[DemoTicket] = []
    for topic in TOPICS:
        shared = [p for p, owners in CONFUSABLE.items() if topic.department in owners]
        for _ in range(per_topic):
            detail = rng.choice(topic.details)
            if shared and rng.random() < confusable:
                detail = rng.choice(shared)
            body = rng.choice(topic.templates).format(
                place=rng.choice(places), detail=detail, duration=rng.choice(DURATIONS)
            )
            label = rng.choice(codes) if rng.random() < misrouted else topic.department
            text = rng.choice(OPENERS) + body + rng.choice(CLOSERS)
            # the templates end on a comma; with no closer the sentence ends there
            out.append(DemoTicket(text[:-1] + "。" if text.endswith("，") else text, label))
    rng.shuffle(out)
    return out


_INSERT_TICKETS = """
INSERT INTO tickets (tenant_id, province_id, number, query_code_hash, channel, kind, priority,
    status, title, content, anonymous, confidential, address, direct_answer, public_reply,
    revisit_attempts, reopen_count, urge_count, reject_reason, timeline_seq, timeline_hash,
    version, received_at, dispatched_at, replied_at, closed_at, created_at, updated_at,
    category_id)
SELECT $1, $2, n, 'demo', 'phone', 'complaint', 'normal', 'closed', '', c, false, false, '',
    false, '', 0, 0, 0, '', 0, '', 0, r, r, r + interval '3 days', r + interval '4 days', r,
    r + interval '4 days', k
FROM unnest($3::text[], $4::text[], $5::timestamptz[], $6::bigint[]) AS u(n, c, r, k)
RETURNING id, number
"""

_INSERT_LEADS = """
INSERT INTO assignments (tenant_id, province_id, ticket_id, department_id, is_lead, status,
    round, reply_deadline, extended_days, reply, return_reason, version, created_at, updated_at)
SELECT $1, $2, t, d, true, 'closed', 1, now(), 0, '', '', 0, now(), now()
FROM unnest($3::bigint[], $4::bigint[]) AS u(t, d)
"""


async def seed_closed_tickets(
    *,
    tenant_id: int,
    province_id: int,
    departments: dict[str, int],
    per_topic: int,
    seed: int = 2026,
    city: CityDemo = JINAN,
    categories: dict[str, int] | None = None,
) -> int:
    """Closed demo tickets (with their lead department) in the current city's scope, in
    two statements; topics whose department the city lacks are skipped. With the city's
    ``categories`` (code → id, ``routing_demo``), each is filed under its category."""
    from hotline.tenants.seed.routing_demo import category_of
    from hotline.tenants.tickets.models import Ticket

    tickets = [
        t
        for t in generate(per_topic=per_topic, seed=seed, city=city)
        if t.department in departments
    ]
    codes = categories or {}
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    numbers = [f"DEMO{seed % 10000:04d}{i:08d}" for i in range(len(tickets))]
    db = Ticket._meta.db
    rows = await db.execute_query_dict(
        _INSERT_TICKETS,
        [
            tenant_id,
            province_id,
            numbers,
            [t.content for t in tickets],
            [start + timedelta(minutes=7 * i) for i in range(len(tickets))],
            [codes.get(category_of(t.department, t.content)) for t in tickets],
        ],
    )
    by_number = {r["number"]: r["id"] for r in rows}
    await db.execute_query(
        _INSERT_LEADS,
        [
            tenant_id,
            province_id,
            [by_number[n] for n in numbers],
            [departments[t.department] for t in tickets],
        ],
    )
    return len(tickets)
