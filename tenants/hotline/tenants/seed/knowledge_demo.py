"""A handful of published knowledge articles per demo city (docs/knowledge.md), so the
README's ``knowledgeSearch(text: "公积金怎么提取")`` finds an answer and agents see what
an answer looks like: the questions a city hotline hears most (公积金, 社保, 居住证,
医保, 供暖, 户口, 入学, 不动产, 驾驶证, 燃气).

The answers are plausible guidance written for the demo, not either city's official
rules. Seeding is idempotent: an article whose title the city has already is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.tenants.kernel.access import Actor
from hotline.tenants.knowledge.articles import create_article, publish_article
from hotline.tenants.knowledge.models import ArticleVersion


@dataclass(frozen=True)
class DemoArticle:
    title: str
    answer: str
    keywords: tuple[str, ...]
    tags: tuple[str, ...]


def articles(city: str) -> list[DemoArticle]:
    """The demo articles of ``city`` (its Chinese name, e.g. 济南市)."""
    short = city.removesuffix("市")
    return [
        DemoArticle(
            "住房公积金提取条件及办理流程",
            f"缴存职工购买、建造、翻建、大修自住住房，偿还住房贷款本息，租赁自住住房，离休退休，"
            f"与单位终止劳动关系未再就业满半年等情形，可以申请提取住房公积金。"
            f"办理渠道：{short}住房公积金管理中心各服务网点、“爱山东”App 或公积金网上服务大厅。"
            f"所需材料：本人身份证、银行卡，以及对应提取情形的证明材料（购房合同、贷款合同、"
            f"租房备案等）。材料齐全的，一般当日审核、3 个工作日内到账。",
            ("公积金提取", "提取公积金", "公积金取出来", "租房提取"),
            ("住房公积金", "民生服务"),
        ),
        DemoArticle(
            "社会保险关系跨省转移接续办理",
            f"参保人员跨省流动就业的，养老保险、医疗保险关系可随同转移。由本人向新就业地"
            f"社保经办机构提出转入申请，也可通过国家社会保险公共服务平台、掌上12333 App "
            f"在线申请；转出地核实后办理转出，全程一般不超过 45 个工作日。{city}内跨区转移"
            f"无需办理转移手续，由系统自动接续。",
            ("社保转移", "社保转出", "社保接续", "养老保险转移"),
            ("社会保险", "人社"),
        ),
        DemoArticle(
            "居住证申领条件和所需材料",
            f"离开常住户口所在地，到{city}居住半年以上，符合有合法稳定就业、合法稳定住所、"
            f"连续就读条件之一的，可以申领居住证。持本人身份证、近期照片、居住登记凭证和"
            f"就业、住所或就读证明，到居住地派出所或社区警务室办理，一般 15 日内制证。"
            f"居住证每年签注一次。",
            ("居住证办理", "办居住证", "居住证签注"),
            ("户籍证件", "公安"),
        ),
        DemoArticle(
            "职工医保门诊及住院费用报销",
            f"参保职工在{city}定点医疗机构住院、门诊慢特病就医，持医保电子凭证或社保卡直接"
            f"结算，个人只需支付自付部分。异地就医须先通过国家医保服务平台 App 或"
            f"{short}医保服务窗口办理备案，备案后可在就医地直接结算；未备案或未能直接结算的，"
            f"凭发票、费用明细和出院记录到参保地医保经办机构手工报销。",
            ("医保报销", "医疗费报销", "异地就医备案", "住院报销"),
            ("医疗保障",),
        ),
        DemoArticle(
            "集中供暖收费标准及缴费时间",
            f"{city}供暖期一般为每年 11 月 15 日至次年 3 月 15 日，遇气温异常可提前或延长。"
            f"居民供暖费按建筑面积收取，缴费时间一般为每年 9 月至 11 月，可通过供热企业营业厅、"
            f"微信公众号或银行代收缴纳。室温低于 18℃ 的，可向供热企业报修，或拨打 12345 反映。",
            ("供暖收费", "暖气费", "供暖时间", "暖气不热"),
            ("供暖", "城市管理"),
        ),
        DemoArticle(
            "户口迁入（落户）办理指南",
            f"在{city}合法稳定就业并参加社保、或有合法稳定住所的人员，本人及其共同居住生活的"
            f"配偶、未成年子女、父母可申请落户；全日制大中专毕业生、技工院校毕业生可凭毕业证"
            f"直接落户。持身份证、户口簿、相关证明材料到拟落户地派出所户籍窗口申请，"
            f"省内迁移实行“一站式”办理，无需回迁出地开具准迁证。",
            ("户口迁移", "落户", "迁户口", "户口迁入"),
            ("户籍证件", "公安"),
        ),
        DemoArticle(
            "义务教育阶段入学报名",
            f"{city}小学一年级、初中一年级新生报名一般在每年 6 月至 7 月进行，具体时间以各区县"
            f"教育部门公告为准。适龄儿童凭户口簿、房产证明（或居住证及租赁备案）在"
            f"“{short}教育”平台网上报名，按学区划片就近入学。随迁子女入学需提供居住证、"
            f"父母一方就业或社保证明。",
            ("入学报名", "小学报名", "初中报名", "学区划分"),
            ("教育", "招生入学"),
        ),
        DemoArticle(
            "不动产登记（房产证）办理须知",
            f"新建商品房买受人可在交房后由开发企业协助办理首次登记和转移登记；二手房买卖由"
            f"买卖双方持身份证、不动产权证书、网签合同和完税凭证到{short}不动产登记中心"
            f"“一窗受理”，一般 5 个工作日内办结。抵押登记、注销登记可在银行网点或线上办理。",
            ("不动产登记", "房产证办理", "办房产证", "过户"),
            ("不动产", "自然资源"),
        ),
        DemoArticle(
            "机动车驾驶证到期换证",
            "驾驶证有效期满前 90 日内，持本人身份证和体检证明，到车管所、交警服务站办理换证，"
            "也可通过“交管12123”App 在线申请并选择邮寄。异地换证无需回原籍。"
            "逾期未换证的，驾驶证将被注销，一年内可恢复。",
            ("驾驶证换证", "驾照到期", "换驾照"),
            ("交通管理", "公安"),
        ),
        DemoArticle(
            "燃气开户、报修与安全检查",
            f"新房通气须由产权人持身份证、房产证明向燃气企业申请开户，由燃气企业上门安装"
            f"燃气表并进行安全检查后通气。闻到燃气异味时，请立即关闭阀门、开窗通风、不开关"
            f"电器，到室外拨打燃气企业抢修电话或 119、12345。{city}燃气企业每两年至少"
            f"入户安检一次，入户人员须出示工作证件。",
            ("燃气开户", "燃气报修", "燃气泄漏", "天然气开通"),
            ("燃气", "公用事业"),
        ),
    ]


async def seed_knowledge(*, actor: Actor, city: str) -> int:
    """Publish the demo articles the city has not yet (in its scope, set by the caller);
    answer how many were written."""
    have = {str(v.title) for v in await ArticleVersion.all().only("id", "title")}
    written = 0
    for article in articles(city):
        if article.title in have:
            continue
        view = await create_article(
            actor=actor,
            title=article.title,
            answer=article.answer,
            keywords=article.keywords,
            tags=article.tags,
        )
        await publish_article(actor=actor, article_id=view.article.id)
        written += 1
    return written
