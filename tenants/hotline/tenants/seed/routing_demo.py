"""The demo cities' category tree and routing rules (docs/routing.md).
(Mostly data — the category tree and its callers' words — hence over 400 lines.)

The top levels follow the classification 12345 hotlines use nationally (城乡建设,
城市管理, 交通运输, 环境保护, 劳动和社会保障, 卫生健康, 教育, 市场监管, 公共安全,
民政, 住房保障与物业, 水电气暖等公用事业, 农业农村, 自然资源与规划, 企业服务,
应急管理); the second levels are the matters a city's center sorts calls into.

Each category names the department that handles it city-wide (a department code of
``data.py``; the first of several a city has) and the words callers use for it. The
rules derived from them, tried in this order (lower priority first):

- ``local`` matters (street vending, rubbish, illegal building, construction noise,
  property management…) are the district's: for every district, area × category
  → the district (priority 10), and area × keywords → the district (priority 20);
- category → its department (priority 50);
- keywords alone → its department (priority 100): a ticket recorded without a
  category or an area still gets a suggestion.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.tenants.categories import service as categories
from hotline.tenants.categories.models import Category
from hotline.tenants.kernel.access import Actor
from hotline.tenants.routing import service as routing
from hotline.tenants.routing.models import RoutingRule
from hotline.tenants.seed.data import CityDemo


@dataclass(frozen=True)
class Cat:
    code: str
    name: str
    departments: tuple[str, ...] = ()  # department codes, the first the city has handles it
    keywords: tuple[str, ...] = ()
    local: bool = False  # the district of the ticket's area handles it
    children: tuple[Cat, ...] = ()


def _top(code: str, name: str, *children: Cat, departments: tuple[str, ...] = ()) -> Cat:
    return Cat(code, name, departments, children=children)


CATEGORIES: tuple[Cat, ...] = (
    _top(
        "01",
        "城乡建设",
        Cat("0101", "建筑施工管理", ("housing",), ("建筑工地", "施工许可", "工地安全")),
        Cat("0102", "房地产开发与交易", ("housing",), ("逾期交房", "开发商", "购房合同", "网签")),
        Cat("0103", "老旧小区改造", ("housing",), ("老旧小区改造", "旧改", "外墙保温")),
        Cat(
            "0104",
            "排水与河道",
            ("water-affairs",),
            ("下水道", "污水外溢", "雨水井", "河道", "路面积水", "排水"),
        ),
        Cat("0105", "市政道路设施", ("urban",), ("井盖", "路面塌陷", "人行道破损"), local=True),
        departments=("housing",),
    ),
    _top(
        "02",
        "城市管理",
        Cat(
            "0201",
            "市容秩序",
            ("urban",),
            ("占道经营", "流动摊贩", "乱堆乱放", "店外经营", "摆到人行道"),
            local=True,
        ),
        Cat(
            "0202",
            "环境卫生",
            ("urban",),
            ("垃圾清运", "垃圾桶满", "无人清运", "垃圾没人", "公厕"),
            local=True,
        ),
        Cat(
            "0203",
            "违法建设",
            ("urban",),
            ("违章建筑", "违建", "私搭乱建", "违法建设"),
            local=True,
        ),
        Cat(
            "0204",
            "建筑施工噪音",
            ("urban",),
            ("夜间施工", "施工噪音", "工地噪音", "施工扰民"),
            local=True,
        ),
        Cat("0205", "户外广告与招牌", ("urban",), ("广告牌", "招牌", "条幅")),
        Cat("0206", "餐饮油烟", ("urban",), ("油烟", "烧烤摊"), local=True),
        Cat("0207", "路灯照明", ("urban",), ("路灯",)),
        Cat("0208", "渣土运输", ("urban",), ("渣土车", "沿路抛洒")),
        departments=("urban",),
    ),
    _top(
        "03",
        "交通运输",
        Cat("0301", "公路养护", ("transport",), ("公路", "坑洼不平", "护栏损坏")),
        Cat("0302", "出租车与网约车", ("transport",), ("出租车", "网约车", "拒载", "绕路")),
        Cat(
            "0303",
            "公交运营",
            ("bus", "transport"),
            ("公交车", "公交线路", "公交站", "到站不停", "公交卡"),
        ),
        Cat("0304", "道路运输与驾培", ("transport",), ("客运站", "驾校", "超载")),
        departments=("transport",),
    ),
    _top(
        "04",
        "环境保护",
        Cat("0401", "大气污染", ("ecology",), ("废气", "刺鼻气味", "焚烧", "扬尘", "粉尘")),
        Cat("0402", "水污染", ("ecology",), ("排污", "污水直排", "偷排")),
        Cat("0403", "工业噪声", ("ecology",), ("工厂噪音", "厂区噪音")),
        Cat("0404", "固体废物", ("ecology",), ("危险废物", "固废")),
        departments=("ecology",),
    ),
    _top(
        "05",
        "劳动和社会保障",
        Cat(
            "0501",
            "劳动关系与欠薪",
            ("hrss",),
            ("拖欠工资", "欠薪", "劳动合同", "离职证明", "农民工工资"),
        ),
        Cat("0502", "社会保险", ("hrss",), ("社保", "养老保险", "失业金", "社会保险")),
        Cat("0503", "就业创业", ("hrss",), ("招聘", "就业补贴", "创业贷款")),
        Cat(
            "0504",
            "医疗保障",
            ("medical-security", "hrss"),
            ("医保", "医疗保险", "异地就医"),
        ),
        departments=("hrss",),
    ),
    _top(
        "06",
        "卫生健康",
        Cat("0601", "医疗服务", ("health",), ("看病", "医生态度", "挂号", "住院")),
        Cat("0602", "疫苗接种", ("health",), ("疫苗", "接种")),
        Cat("0603", "非法行医", ("health",), ("无证行医", "黑诊所")),
        departments=("health",),
    ),
    _top(
        "07",
        "教育",
        Cat(
            "0701",
            "招生入学",
            ("education",),
            ("入学", "划片", "学区", "转学", "上小学", "上初中", "招生", "入学报名"),
        ),
        Cat("0702", "教育收费", ("education",), ("学校乱收费", "课后服务收费")),
        Cat("0703", "师德师风与校外培训", ("education",), ("有偿补课", "校外培训")),
        Cat("0704", "学前教育", ("education",), ("幼儿园", "入园")),
        departments=("education",),
    ),
    _top(
        "08",
        "市场监管与消费维权",
        Cat("0801", "食品安全", ("market",), ("过期食品", "食品安全", "吃完拉肚子")),
        Cat("0802", "消费维权", ("market",), ("退款", "预付卡", "办卡后跑路", "拒绝退费")),
        Cat("0803", "价格与计量", ("market",), ("缺斤短两", "价格欺诈", "价格标签")),
        Cat("0804", "特种设备", ("market",), ("电梯困人", "电梯故障")),
        Cat("0805", "药品安全", ("market",), ("假药", "假冒药品")),
        departments=("market",),
    ),
    _top(
        "09",
        "公共安全",
        Cat("0901", "治安管理", ("police",), ("大声喧哗", "赌博", "被盗", "打架")),
        # Not 户口/户籍 alone: "户口不在本区能不能报名" is a school enrolment question
        # (教育); these name what the police office does with a residence record.
        Cat(
            "0902",
            "户籍与证件",
            ("police",),
            (
                "上户口",
                "户口迁移",
                "迁户口",
                "户口迁入",
                "户口本",
                "户口簿",
                "户籍证明",
                "户籍迁移",
                "户籍登记",
                "身份证",
                "居住证",
                "落户",
            ),
        ),
        Cat(
            "0903",
            "道路交通管理",
            ("traffic-police", "police"),
            ("违停", "乱停车", "红绿灯", "信号灯", "炸街", "酒驾"),
        ),
        Cat("0904", "养犬管理", ("police",), ("养狗", "遛狗", "犬只")),
        Cat("0905", "电信诈骗", ("police",), ("诈骗",)),
        departments=("police",),
    ),
    _top(
        "10",
        "民政",
        Cat("1001", "社会救助", ("civil",), ("低保", "临时救助", "特困")),
        Cat("1002", "养老服务", ("civil",), ("养老院", "高龄津贴")),
        Cat("1003", "婚姻与殡葬", ("civil",), ("婚姻登记", "殡葬")),
        Cat("1004", "残疾人服务", ("civil",), ("残疾人补贴", "残疾证")),
        departments=("civil",),
    ),
    _top(
        "11",
        "住房保障与物业",
        Cat("1101", "物业管理", ("housing",), ("物业费", "物业不管", "物业公司"), local=True),
        Cat("1102", "住房公积金", ("housing-fund", "housing"), ("公积金",)),
        Cat("1103", "保障性住房", ("housing",), ("公租房", "廉租房", "保障房")),
        departments=("housing",),
    ),
    _top(
        "12",
        "水电气暖等公用事业",
        Cat(
            "1201",
            "供水",
            ("water",),
            ("停水", "自来水", "水压", "水表", "水管爆裂", "供水管道"),
        ),
        Cat("1202", "供电", ("power",), ("停电", "电压不稳", "电费", "电线杆", "变压器")),
        Cat("1203", "燃气", ("gas",), ("燃气", "天然气", "煤气")),
        Cat("1204", "供热", ("heating",), ("暖气", "供暖", "取暖费", "供热")),
        Cat(
            "1205",
            "通信",
            ("telecom-mobile", "telecom-unicom"),
            ("手机信号", "宽带", "话费"),
        ),
    ),
    _top(
        "13",
        "农业农村",
        Cat("1301", "农业生产与农资", ("agriculture",), ("农资", "种子", "化肥", "农药")),
        Cat("1302", "宅基地与农村集体事务", ("agriculture",), ("宅基地", "村集体", "土地流转")),
        Cat("1303", "农村人居环境", ("agriculture",), ("农村厕所", "村容村貌")),
        departments=("agriculture",),
    ),
    _top(
        "14",
        "自然资源与规划",
        Cat("1401", "规划管理", ("planning",), ("规划许可", "规划公示", "日照遮挡")),
        Cat("1402", "不动产登记", ("planning",), ("不动产", "房产证")),
        Cat("1403", "土地与矿产", ("planning",), ("非法占地", "盗采")),
        departments=("planning",),
    ),
    _top(
        "15",
        "企业服务",
        Cat("1501", "企业开办与注销", ("market",), ("营业执照", "公司注销", "个体户")),
        Cat("1502", "税费服务", ("tax",), ("发票", "纳税", "退税", "个税", "税务")),
        Cat("1503", "涉企政策与营商环境", ("market",), ("营商环境", "惠企政策")),
    ),
    _top(
        "16",
        "应急管理与安全生产",
        Cat("1601", "安全生产", ("emergency",), ("安全生产", "违规作业")),
        Cat("1602", "消防安全", ("emergency",), ("消防通道", "消防隐患", "灭火器")),
        departments=("emergency",),
    ),
    _top("99", "其他"),
)

# The category of each demo department's history (tickets_demo.TOPICS) by default.
TOPIC_CATEGORY: dict[str, str] = {
    "urban": "02",
    "housing": "01",
    "ecology": "04",
    "market": "08",
    "transport": "03",
    "hrss": "05",
    "education": "07",
    "health": "06",
    "police": "09",
    "civil": "10",
    "water": "1201",
    "water-affairs": "0104",
    "power": "1202",
    "gas": "1203",
    "bus": "0303",
}


def category_of(department: str, content: str) -> str:
    """The category code a demo ticket of ``department`` saying ``content`` is filed under:
    the most specific category of the department's topic whose keyword the text holds."""
    top = TOPIC_CATEGORY[department]
    for cat in _walk(CATEGORIES):
        specific = cat.code.startswith(top) and cat.code != top
        if specific and any(k in content for k in cat.keywords):
            return cat.code
    return top


def _walk(nodes: tuple[Cat, ...]) -> list[Cat]:
    out: list[Cat] = []
    for node in nodes:
        out.append(node)
        out.extend(_walk(node.children))
    return out


def _department(cat: Cat, departments: dict[str, int]) -> int | None:
    return next((departments[c] for c in cat.departments if c in departments), None)


async def seed_categories(*, actor: Actor) -> tuple[dict[str, int], int]:
    """The tree in the current city (missing categories only): code → id, rows created."""
    ids: dict[str, int] = {}
    created = 0

    async def plant(nodes: tuple[Cat, ...], parent: int | None) -> None:
        nonlocal created
        for node in nodes:
            row = await Category.get_or_none(code=node.code)
            if row is None:
                row = await categories.create_category(
                    actor=actor, name=node.name, code=node.code, parent_id=parent
                )
                created += 1
            ids[node.code] = row.id
            await plant(node.children, row.id)

    await plant(CATEGORIES, None)
    return ids, created


async def seed_routing_rules(
    *,
    actor: Actor,
    city: CityDemo,
    departments: dict[str, int],
    category_ids: dict[str, int],
) -> int:
    """The rules of the module docstring in the current city (missing ones by name)."""
    existing: set[str] = {str(r.name) for r in await RoutingRule.all().only("id", "name")}
    districts = [d for d in city.departments if d.kind == "district"]
    created = 0

    async def rule(
        name: str,
        department: int,
        priority: int,
        *,
        area_id: int | None = None,
        category_id: int | None = None,
        keywords: tuple[str, ...] = (),
    ) -> None:
        nonlocal created
        if name in existing:
            return
        await routing.create_routing_rule(
            actor=actor,
            name=name,
            department_id=department,
            priority=priority,
            area_id=area_id,
            category_id=category_id,
            keywords=keywords,
        )
        existing.add(name)
        created += 1

    cats = [c for c in _walk(CATEGORIES) if c.code in category_ids]
    for cat in cats:
        if not cat.local:
            continue
        for district in districts:
            area = departments[district.code]
            await rule(
                f"{district.name}·{cat.name}",
                area,
                10,
                area_id=area,
                category_id=category_ids[cat.code],
            )
            await rule(
                f"{district.name}·{cat.name}（关键词）",
                area,
                20,
                area_id=area,
                keywords=cat.keywords,
            )
    for cat in cats:
        department = _department(cat, departments)
        if department is None:
            continue
        await rule(f"{cat.name}（分类）", department, 50, category_id=category_ids[cat.code])
        if cat.keywords:
            await rule(f"{cat.name}（关键词）", department, 100, keywords=cat.keywords)
    return created
