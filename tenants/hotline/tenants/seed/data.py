"""The demo province: Shandong with Jinan and Dezhou, and realistic department trees.

Names follow the cities' real administrative divisions and bureaus; the tree is
trimmed (a few streets per district, a few communities per street) to stay readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Dept:
    name: str
    kind: str
    code: str
    children: tuple[Dept, ...] = ()
    duty_hours: str = ""
    function: str = ""  # the province catalogue's function (routing/data/functions.json)


@dataclass(frozen=True)
class CityDemo:
    code: str
    slug: str
    name: str
    prefix: str
    departments: tuple[Dept, ...]
    users: tuple[tuple[str, str, str, str | None], ...] = field(
        default=()
    )  # username, name, role, dept code


def business_logins(city: CityDemo) -> list[tuple[str, str, str]]:
    """The business extension's demo logins of ``city``: username, role, city. The demo
    enterprise is in ``<city>_manager2``'s portfolio; ``<city>_bank`` is the demo bank's
    account manager (seed/business_demo.py)."""
    return [
        (f"{city.slug}_manager", "service_manager", city.slug),
        (f"{city.slug}_manager2", "service_manager", city.slug),
        (f"{city.slug}_enterprise", "enterprise_admin", city.slug),
        (f"{city.slug}_bank", "dept_manager", city.slug),
    ]


def _district(code: str, name: str, streets: dict[str, list[str]]) -> Dept:
    return Dept(
        name,
        "district",
        code,
        tuple(
            Dept(
                street,
                "street",
                f"{code}-s{i}",
                tuple(
                    Dept(c, "community", f"{code}-s{i}-c{j}", function="community")
                    for j, c in enumerate(communities, 1)
                ),
                function="street_office",
            )
            for i, (street, communities) in enumerate(streets.items(), 1)
        ),
        function="district_government",
    )


def _bureaus(city: str) -> tuple[Dept, ...]:
    names = [
        ("urban", "城市管理局", "urban_management"),
        ("housing", "住房和城乡建设局", "housing"),
        ("ecology", "生态环境局", "ecology"),
        ("market", "市场监督管理局", "market_regulation"),
        ("transport", "交通运输局", "transport"),
        ("hrss", "人力资源和社会保障局", "hrss"),
        ("education", "教育局", "education"),
        ("health", "卫生健康委员会", "health"),
        ("police", "公安局", "public_security"),
        ("planning", "自然资源和规划局", "natural_resources"),
        ("water-affairs", "水务局", "water_affairs"),
        ("civil", "民政局", "civil_affairs"),
        ("emergency", "应急管理局", "emergency"),
        ("agriculture", "农业农村局", "agriculture"),
        ("medical-security", "医疗保障局", "medical_insurance"),
        ("housing-fund", "住房公积金管理中心", "housing_fund"),
        ("culture-tourism", "文化和旅游局", "culture_tourism"),
    ]
    return tuple(
        Dept(f"{city}{label}", "bureau", code, duty_hours="工作日 9:00-17:00", function=function)
        for code, label, function in names
    )


JINAN = CityDemo(
    code="370100",
    slug="jinan",
    name="济南市",
    prefix="JN",
    departments=(
        _district(
            "lixia",
            "历下区",
            {
                "泉城路街道": ["芙蓉街社区", "县西巷社区", "黑虎泉社区"],
                "大明湖街道": ["百花洲社区", "明湖社区"],
                "千佛山街道": ["千佛山社区", "南郊社区"],
                "解放路街道": ["山师东路社区", "和平新村社区"],
                "姚家街道": ["燕子山社区", "荆山社区"],
                "趵突泉街道": ["趵突泉社区", "五龙潭社区"],
            },
        ),
        _district(
            "shizhong",
            "市中区",
            {
                "大观园街道": ["大观园社区", "万紫巷社区"],
                "杆石桥街道": ["杆石桥社区", "玉函社区"],
                "舜耕街道": ["舜耕社区", "阳光100社区"],
                "七里山街道": ["七里山社区", "郎茂山社区"],
            },
        ),
        _district(
            "huaiyin",
            "槐荫区",
            {
                "段店北路街道": ["段北社区", "美里湖社区"],
                "道德街街道": ["道德街社区", "营市街社区"],
                "西市场街道": ["西市场社区", "经四路社区"],
                "兴福街道": ["西站社区", "兴福社区"],
            },
        ),
        _district(
            "tianqiao",
            "天桥区",
            {
                "北园街道": ["北园社区", "无影山社区"],
                "泺口街道": ["泺口社区", "黄河社区"],
                "药山街道": ["药山社区", "鑫苑社区"],
            },
        ),
        _district(
            "licheng",
            "历城区",
            {
                "洪家楼街道": ["洪楼社区", "花园社区"],
                "山大路街道": ["山大北路社区", "华能路社区"],
                "王舍人街道": ["王舍人社区", "裕华社区"],
                "唐冶街道": ["唐冶社区", "绿地社区"],
                "柳埠街道": ["柳埠社区", "四门塔村"],
            },
        ),
        _district(
            "zhangqiu",
            "章丘区",
            {"明水街道": ["明水社区", "百脉泉社区"], "双山街道": ["双山社区", "福泰社区"]},
        ),
        _district(
            "pingyin",
            "平阴县",
            {"榆山街道": ["榆山社区"], "锦水街道": ["锦水社区"], "孔村镇": ["孔村"]},
        ),
        _district(
            "changqing",
            "长清区",
            {
                "文昌街道": ["文昌社区", "长清湖社区"],
                "平安街道": ["平安社区", "大学城社区"],
                "崮云湖街道": ["崮云湖社区"],
            },
        ),
        _district("jiyang", "济阳区", {"济阳街道": ["开元社区", "澄波湖社区"]}),
        _district("laiwu", "莱芜区", {"凤城街道": ["凤城社区", "花园社区"]}),
        _district("gangcheng", "钢城区", {"艾山街道": ["艾山社区"]}),
        _district("shanghe", "商河县", {"许商街道": ["许商社区", "明辉社区"]}),
        _district(
            "hitech",
            "济南高新区",
            {"舜华路街道": ["舜华社区", "齐鲁软件园社区"], "孙村街道": ["孙村社区"]},
        ),
        *_bureaus("济南市"),
        Dept(
            "国家税务总局济南市税务局",
            "bureau",
            "tax",
            duty_hours="工作日 9:00-17:00",
            function="tax",
        ),
        Dept(
            "济南市公安局交通警察支队",
            "bureau",
            "traffic-police",
            duty_hours="24小时",
            function="traffic_police",
        ),
        Dept("济南水务集团", "utility", "water", function="water_supply"),
        Dept("国网济南供电公司", "utility", "power", function="power"),
        Dept("济南港华燃气有限公司", "utility", "gas", function="gas"),
        Dept("中国移动济南分公司", "utility", "telecom-mobile", function="telecom"),
        Dept("中国联通济南分公司", "utility", "telecom-unicom", function="telecom"),
        Dept("中国电信济南分公司", "utility", "telecom-telecom", function="telecom"),
        Dept("济南公交集团", "utility", "bus", function="public_transport"),
        Dept("济南能源集团(供热)", "utility", "heating", function="heating"),
        Dept("济南市应急值班室", "duty_room", "duty", duty_hours="24小时", function="duty_room"),
    ),
    users=(
        ("jinan_admin", "济南管理员", "tenant_admin", None),
        ("jinan_leader", "济南市领导", "city_leader", None),
        ("jinan_agent", "济南话务员", "agent", None),
        ("jinan_dispatcher", "济南派单员", "dispatcher", None),
        ("jinan_supervisor", "济南督办员", "supervisor", None),
        ("jinan_auditor", "济南审计员", "auditor", None),
        ("lixia_handler", "历下区承办人", "dept_handler", "lixia"),
        ("lixia_manager", "历下区负责人", "dept_manager", "lixia"),
        ("quanchenglu_handler", "泉城路街道承办人", "dept_handler", "lixia-s1"),
        ("urban_handler", "城管局承办人", "dept_handler", "urban"),
        ("water_handler", "水务集团承办人", "dept_handler", "water"),
    ),
)

DEZHOU = CityDemo(
    code="371400",
    slug="dezhou",
    name="德州市",
    prefix="DZ",
    departments=(
        _district(
            "decheng",
            "德城区",
            {
                "新湖街道": ["新湖社区", "北园社区"],
                "天衢街道": ["天衢社区", "东关社区"],
                "新华街道": ["新华社区", "铁西社区"],
                "广川街道": ["广川社区", "董子社区"],
                "运河街道": ["运河社区", "红星社区"],
                "黄河涯镇": ["黄河涯村"],
            },
        ),
        _district("lingcheng", "陵城区", {"安德街道": ["安德社区", "临齐社区"]}),
        _district("yucheng", "禹城市", {"市中街道": ["大禹社区", "汉槐社区"]}),
        _district("leling", "乐陵市", {"市中街道": ["乐陵社区"], "胡家街道": ["胡家社区"]}),
        _district("qihe", "齐河县", {"晏城街道": ["晏城社区", "齐河社区"], "祝阿镇": ["祝阿村"]}),
        _district("ningjin", "宁津县", {"津城街道": ["津城社区"]}),
        _district("qingyun", "庆云县", {"渤海路街道": ["渤海路社区"]}),
        _district("linyi", "临邑县", {"邢侗街道": ["邢侗社区"]}),
        _district("pingyuan", "平原县", {"龙门街道": ["龙门社区"]}),
        _district("xiajin", "夏津县", {"银城街道": ["银城社区"]}),
        _district("wucheng", "武城县", {"广运街道": ["广运社区"]}),
        _district(
            "tianqu",
            "德州天衢新区",
            {"宋官屯街道": ["宋官屯社区", "东站社区"], "长河街道": ["长河社区", "大学城社区"]},
        ),
        *_bureaus("德州市"),
        Dept(
            "国家税务总局德州市税务局",
            "bureau",
            "tax",
            duty_hours="工作日 9:00-17:00",
            function="tax",
        ),
        Dept(
            "德州市公安局交通警察支队",
            "bureau",
            "traffic-police",
            duty_hours="24小时",
            function="traffic_police",
        ),
        Dept("德州水务集团", "utility", "water", function="water_supply"),
        Dept("国网德州供电公司", "utility", "power", function="power"),
        Dept("德州华润燃气有限公司", "utility", "gas", function="gas"),
        Dept("中国联通德州分公司", "utility", "telecom-unicom", function="telecom"),
        Dept("中国移动德州分公司", "utility", "telecom-mobile", function="telecom"),
        Dept("中国电信德州分公司", "utility", "telecom-telecom", function="telecom"),
        Dept("德州市公共交通集团", "utility", "bus", function="public_transport"),
        Dept("德州市热力有限公司(供热)", "utility", "heating", function="heating"),
        Dept("德州市应急值班室", "duty_room", "duty", duty_hours="24小时", function="duty_room"),
    ),
    users=(
        ("dezhou_admin", "德州管理员", "tenant_admin", None),
        ("dezhou_leader", "德州市领导", "city_leader", None),
        ("dezhou_agent", "德州话务员", "agent", None),
        ("dezhou_dispatcher", "德州派单员", "dispatcher", None),
        ("dezhou_supervisor", "德州督办员", "supervisor", None),
        ("decheng_handler", "德城区承办人", "dept_handler", "decheng"),
        ("urban_dz_handler", "德州城管局承办人", "dept_handler", "urban"),
    ),
)

PROVINCE = {"code": "370000", "slug": "shandong", "name": "山东省"}
PROVINCE_ADMIN = ("shandong_admin", "山东省热线管理员")
PLATFORM_OPERATOR = ("operator", "平台运维")
DEMO_PASSWORD = "Hotline-demo-2026"  # noqa: S105 — printed by `make run`, demo data only

# The province's shared synonym list for knowledge search (docs/knowledge.md): what
# callers say, and what the articles and the authorities call the same thing.
PROVINCE_SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("户口", "户籍", "户口本", "户口簿"),
    ("落户", "户口迁入", "迁户口"),
    ("公积金", "住房公积金"),
    ("医保", "医疗保险", "基本医疗保险", "医保卡"),
    ("社保", "社会保险"),
    ("养老金", "养老保险金", "退休金"),
    ("失业金", "失业保险金"),
    ("身份证", "居民身份证"),
    ("低保", "最低生活保障"),
    ("暖气", "供暖", "供热", "取暖"),
    ("暖气费", "取暖费", "采暖费", "供热费"),
    ("煤气", "燃气", "天然气"),
    ("自来水", "供水"),
    ("停水", "断水", "没水"),
    ("停电", "断电", "没电"),
    ("物业", "物业公司", "物业服务企业"),
    ("城管", "城市管理", "综合执法"),
    ("违建", "违章建筑", "违法建设", "私搭乱建"),
    ("狗证", "养犬登记", "犬证"),
    ("营业执照", "执照", "工商登记"),
    ("个体户", "个体工商户"),
    ("工资", "薪水", "工钱", "劳动报酬"),
    ("欠薪", "拖欠工资", "讨薪"),
    ("驾照", "驾驶证"),
    ("出租车", "的士", "出租汽车"),
    ("网约车", "滴滴"),
    ("公交", "公交车", "公共汽车"),
    ("居住证", "暂住证"),
    ("退休", "退休手续", "办退休"),
    ("残疾证", "残疾人证"),
    ("结婚证", "婚姻登记"),
    ("出生证", "出生医学证明"),
    ("房产证", "不动产权证书", "不动产证"),
    ("异地就医", "外地看病", "跨省就医"),
    ("幼儿园", "托幼"),
    ("上学", "入学"),
    ("井盖", "窨井盖"),
    ("路灯", "照明设施"),
)
