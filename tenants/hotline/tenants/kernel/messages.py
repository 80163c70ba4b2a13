"""The error message catalogue: each English message template → its Chinese text.
(Data — one line per message of every domain — hence over 400 lines.)

A domain error is raised with its English template and parameters, as in gettext the
English text is the message id::

    raise Invalid("a title has 1 to {max} characters", field="title", max=MAX_TITLE)

``DomainError.message`` is the English text filled in (developers, logs);
``localizedMessage`` in GraphQL answers the Chinese text below for ``Accept-Language:
zh…`` and the English one otherwise. Parameter values that are known terms (nouns,
roles, statuses) are translated through :data:`TERMS_ZH`; lists are joined.

A test (``tests/docs/test_error_messages.py``) reads every raise site in ``tenants``,
``schema`` and ``workers``: each must use a literal template (no f-string) found here,
with the same placeholders in both languages. Adding an error means adding its line.
"""

from __future__ import annotations

MESSAGES_ZH: dict[str, str] = {
    # --- generic ------------------------------------------------------------------------
    "{what} not found": "未找到{what}，或您无权访问",
    "not allowed": "您无权执行此操作",
    "{action} is not allowed": "您无权执行此操作（{action}）",
    "nothing to change": "没有需要修改的内容",
    "an object is expected": "此处应为一个对象",
    "malformed cursor": "分页游标无效",
    "first must be between 1 and {max}": "每页条数须在 1 到 {max} 之间",
    "limit must be between 1 and {max}": "条数须在 1 到 {max} 之间",
    "name must not be empty": "名称不能为空",
    "the name must be 1-100 characters": "名称须为 1 到 100 个字符",
    "a name of 1 to 100 characters is needed": "请填写 1 到 100 个字符的名称",
    "name a city (X-Hotline-Tenant) or a province": "请指定城市（X-Hotline-Tenant）或省份",
    "you administer several provinces: name one (provinceId)": (
        "您管理多个省份，请指定一个（provinceId）"
    ),
    "{where}: {error}": "{where} 有误：{error}",
    # --- accounts, sessions -------------------------------------------------------------
    "authentication required": "请先登录",
    "wrong username or password": "用户名或密码错误",
    "the session has ended; please log in again": "会话已结束，请重新登录",
    "the account is disabled": "该账户已停用",
    "the account is locked after repeated failures until {until} UTC": (
        "多次登录失败，账户已锁定至 {until}（UTC）"
    ),
    "too many login attempts; try again in a minute": "登录尝试过于频繁，请一分钟后再试",
    (
        "administrators must use two-factor authentication since {deadline} UTC; "
        "enrol an authenticator app (beginTotpEnrolment with your username and password)"
    ): (
        "自{deadline}（UTC）起管理员须使用双因素认证；"
        "请用用户名和密码绑定身份验证器（beginTotpEnrolment）"
    ),
    "cors_origins must be a list of at most {max} origins": "cors_origins须为最多{max}个来源的列表",
    "{origin} is not an origin like https://app.example.org": (
        "{origin}不是形如 https://app.example.org 的来源"
    ),
    "at most {max} ids": "最多{max}个 ID",
    "too many failed logins; try again in {seconds} seconds": (
        "登录失败次数过多，请{seconds}秒后再试"
    ),
    "enter the code from the authenticator app": "请输入身份验证器应用中的动态验证码",
    "the authenticator code is wrong": "动态验证码错误",
    "the current password is wrong": "当前密码错误",
    "invalid access token ({reason})": "访问令牌无效（{reason}）",
    "invalid access token: {error}": "访问令牌无效：{error}",
    "invalid access token: unknown issuer": "访问令牌无效：签发方未知",
    "no account is linked to this identity": "没有与此身份关联的账户",
    "invalid API key": "API 密钥无效",
    "{user} is neither a member of {city} nor an administrator of its province": (
        "{user}既不是{city}的成员，也不是其所在省份的管理员"
    ),
    "the password {problems}": "密码不符合要求：{problems}",
    "the reset link is invalid, used or expired": "重置链接无效、已使用或已过期",
    "two-factor authentication is already on": "双重验证已开启",
    "start the enrolment first": "请先开始绑定身份验证器",
    "the code does not match; check the phone's clock": "验证码不匹配，请检查手机时间是否准确",
    "a user with this username exists": "该用户名已被使用",
    "the username must be 3-64 letters, digits or . _ - characters": (
        "用户名须为 3 到 64 个字母、数字或 . _ - 字符"
    ),
    "the username must be at most {max} characters": "用户名最多 {max} 个字符",
    "the display name must be 1-100 characters": "显示名称须为 1 到 100 个字符",
    "not a valid e-mail address": "电子邮箱地址无效",
    "a department is given with a role": "指定部门时须同时指定角色",
    "the role {role} needs a department": "角色“{role}”须指定部门",
    "the user already has this role here": "该用户在本市已拥有此角色",
    "the user already has this role": "该用户已拥有此角色",
    "only platform operators create platform operators": "只有平台运维人员可以创建平台运维账户",
    "only platform operators grant province roles": "只有平台运维人员可以授予省级角色",
    "only the province_admin role is held per province": "省级只能授予省管理员角色",
    "roles are granted by an administrator": "角色须由管理员授予",
    "the caller does not act in this city": "当前身份不在本市办理业务",
    "this user also serves elsewhere; ask a province administrator": (
        "该用户还在其他城市任职，请联系省管理员"
    ),
    "API keys cannot hold the tenant_admin role": "API 密钥不能拥有城市管理员角色",
    "an API key needs at least one role": "API 密钥至少需要一个角色",
    # --- provinces, cities, calendars ---------------------------------------------------
    "a province with this code or slug exists": "该代码或标识的省份已存在",
    "a city with this code or slug exists": "该代码或标识的城市已存在",
    "a province code ends in 0000": "省级区划代码须以 0000 结尾",
    "a city's code starts with its province's two digits": "城市区划代码须以所属省份的前两位开头",
    "code must be a 6-digit GB/T 2260 division code": "代码须为 6 位 GB/T 2260 行政区划代码",
    "slug must be 3-40 lowercase letters, digits or dashes": (
        "标识须为 3 到 40 个小写字母、数字或连字符"
    ),
    "number prefix must be 2-4 capital letters": "工单编号前缀须为 2 到 4 个大写字母",
    "unknown time zone {timezone}": "未知时区 {timezone}",
    "locales must be among {choices}": "语言须为以下之一：{choices}",
    "unknown feature flags: {flags}": "未知功能开关：{flags}",
    "unknown department function {function}": "未知部门职能 {function}",
    "routing.auto_dispatch_threshold must be in (0, 1]": "自动派单阈值须大于 0 且不超过 1",
    "supervision_escalation.after_working_hours: 1+ numbers of hours (0, 240]": (
        "督办升级时限须为一个或多个小时数，每个大于 0 且不超过 240"
    ),
    "give 1 to {max} days": "请提供 1 到 {max} 个日期",
    "a date appears twice": "日期重复",
    "a day's name is at most 100 characters": "日期名称最多 100 个字符",
    "province days are set outside a city scope": "省级日历须在未选择城市时设置",
    "days must be between 0 and 366": "天数须在 0 到 366 之间",
    "hours must be between 0 and 8784": "小时数须在 0 到 8784 之间",
    "give the time with its offset, e.g. 2026-11-23T10:00:00+08:00": (
        "请提供带时区偏移的时间，例如 2026-11-23T10:00:00+08:00"
    ),
    'working hours must be [["HH:MM", "HH:MM"], …] per weekday': (
        '工作时间须按工作日写成 [["HH:MM", "HH:MM"], …]'
    ),
    "a working period must end after it starts": "工作时段的结束时间须晚于开始时间",
    # --- departments, categories, routing -----------------------------------------------
    "a department with this code exists": "该代码的部门已存在",
    "a department needs a parent (the center is created with the city)": (
        "部门须有上级部门（热线中心随城市一同创建）"
    ),
    "a {kind} cannot be placed under a {parent}": "{kind}不能设在{parent}之下",
    "the parent department is deactivated": "上级部门已停用",
    "the department is deactivated": "该部门已停用",
    "cannot move a department under its own subtree": "不能把部门移到其自身的下级部门之下",
    "the center cannot be moved": "热线中心不能移动",
    "the center cannot be deactivated": "热线中心不能停用",
    "a department appears twice": "部门重复",
    "contacts: {where}: {error}": "联系人信息 {where} 有误：{error}",
    "a category with this code exists": "该代码的分类已存在",
    "categories nest at most {max} levels": "分类最多嵌套 {max} 级",
    "the category is inactive": "该分类已停用",
    "at most {max} keywords of 50 characters": "最多 {max} 个关键词，每个不超过 50 个字符",
    "keyword is too long": "关键词过长",
    "the threshold is a confidence in (0, 1]": "阈值须为大于 0 且不超过 1 的置信度",
    "need closed tickets of 2+ departments with {min}+ each to train": (
        "训练需要至少 2 个部门、每个部门至少 {min} 件已办结工单"
    ),
    # --- tickets ------------------------------------------------------------------------
    "give {what}": "请填写{what}",
    "title or address too long": "标题或地址过长",
    "an idempotency key is 1 to 100 characters": "幂等键须为 1 到 100 个字符",
    "not a phone number (a landline needs its area code, e.g. 0531-86012345)": (
        "电话号码无效（固定电话须带区号，例如 0531-86012345）"
    ),
    "give both longitude and latitude": "请同时提供经度和纬度",
    "coordinates out of range": "坐标超出范围",
    "dispatch to a department, not the center": "请派发给承办部门，而不是热线中心",
    "the ticket has no lead assignment": "该工单没有主办单位",
    "a sub-dispatch's deadline cannot be later than its parent's": (
        "二次派发的期限不能晚于上级派发的期限"
    ),
    "sub-dispatch only into your own department's subtree": "只能二次派发给本部门的下级部门",
    "the sub-dispatched {departments} have not replied; wait for them, have them return,"
    " or recall them": ("二次派发的{departments}尚未回复，请待其回复、退回或收回后再回复"),
    "only a sub-dispatched assignment can be recalled": "只能收回二次派发的派单",
    "this assignment belongs to another department": "该派单属于其他部门",
    "your department holds no assignment of this ticket": "本部门没有该工单的有效派单",
    "the citizen asked for confidentiality": "市民要求保密，不能查看其联系方式",
    "the deadline must be in the future": "期限须晚于当前时间",
    "an extension is at least one working day": "延期至少一个工作日",
    "an extension request is already pending": "已有待审批的延期申请",
    "the reply time must be 1 to {max} working days": "办理时限须为 1 到 {max} 个工作日",
    "the reply time with extensions would exceed {max} working days from dispatch": (
        "加上延期后，办理时限将超过派单起 {max} 个工作日"
    ),
    "a supervision order is already open here": "此处已有进行中的督办",
    "the assignment no longer handles the ticket": "该派单已不在办理中",
    "the supervision is at the highest level": "督办已是最高级别",
    "this supervision concerns another department": "该督办针对的是其他部门",
    "a ticket cannot be merged into itself": "工单不能合并到自身",
    "the ticket is already in that city": "该工单已在目标城市",
    "give the citizen's grade": "请填写市民的满意度评价",
    "not a citizen's grade": "不是有效的满意度评价",
    "record an unreachable citizen with reached=false": "联系不上市民时请记录 reached=false",
    "this ticket cannot be rated now": "该工单当前不能评价",
    "name the ticket": "请指定工单",
    "no department to read tickets for": "没有可查看工单的部门",
    "too many lookups, try again in a minute": "查询过于频繁，请一分钟后再试",
    "too many requests for this ticket, try again in a minute": (
        "该工单查询过于频繁，请一分钟后再试"
    ),
    "too many wrong codes for this number; try again in {seconds} seconds": (
        "该工单号错误查询码过多，请{seconds}秒后再试"
    ),
    "too many wrong codes for this number; try again later": "该工单查询码错误次数过多，请稍后再试",
    # --- knowledge ----------------------------------------------------------------------
    "a title has 1 to {max} characters": "标题须为 1 到 {max} 个字符",
    "an answer has 1 to {max} characters": "答案须为 1 到 {max} 个字符",
    "validity ends before it starts": "有效期的结束早于开始",
    "at most {max} items of {length} characters": "最多 {max} 项，每项不超过 {length} 个字符",
    "a search has 1 to {max} characters": "搜索内容须为 1 到 {max} 个字符",
    "give 1 to {max} words": "请提供 1 到 {max} 个词",
    "a word has 2 to {max} characters, no spaces": "每个词须为 2 到 {max} 个字符，且不含空格",
    "freq must be between 1 and 1000000": "词频须在 1 到 1000000 之间",
    "the article is not published": "该知识条目未发布",
    "the article is not valid today": "该知识条目今天不在有效期内",
    "the article has no answer to give": "该知识条目没有可答复的内容",
    "knowledge.manage is not allowed": "您无权管理知识库",
    "province-shared articles are managed by the province": "全省共享的知识条目由省级管理",
    "province-shared articles are managed with no city selected": (
        "全省共享的知识条目须在未选择城市时管理"
    ),
    "select a city, or give provinceId for shared articles": "请选择城市，或为共享知识条目指定省份",
    "shared articles belong to no department": "共享知识条目不属于任何部门",
    # --- notifications ------------------------------------------------------------------
    "event must be one of {choices}": "事件须为以下之一：{choices}",
    'event types look like "ticket.dispatch"': "事件类型应形如“ticket.dispatch”",
    "locale must be one of {choices}": "语言须为以下之一：{choices}",
    "at most {max} notices at a time": "一次最多处理 {max} 条通知",
    "template error: {error}": "模板有误：{error}",
    "the URL must point to a public address (not loopback, private or link-local)": (
        "URL须指向公网地址（不能是回环、内网或链路本地地址）"
    ),
    "the subject renders longer than {max} characters": "标题渲染后超过{max}个字符",
    "the body renders longer than {max} characters": "正文渲染后超过{max}个字符",
    "the SMS renders as {segments} segments; at most {max} are allowed": (
        "短信渲染后为{segments}条，最多允许{max}条"
    ),
    "sign in to read notices": "请登录后查看通知",
    "the URL must be an http(s) URL of at most 500 characters": (
        "地址须为不超过 500 个字符的 http(s) 地址"
    ),
    # --- evidence -----------------------------------------------------------------------
    "a file name of 1 to 200 characters": "文件名须为 1 到 200 个字符",
    "{type} is not accepted by this city": "本市不接受 {type} 类型的文件",
    "a {kind} may be 1 to {max} bytes": "{kind}大小须为 1 到 {max} 字节",
    "sha256 must be 64 hex digits": "sha256 须为 64 位十六进制数字",
    "types we cannot process: {types}": "无法处理的文件类型：{types}",
    "allow at least one type": "请至少允许一种文件类型",
    "unknown kind {kind}": "未知文件种类 {kind}",
    "{kind}: between 1 byte and {max} bytes": "{kind}：须在 1 到 {max} 字节之间",
    "between 1 and {max} days": "须在 1 到 {max} 天之间",
    "citizen evidence is sent by the citizen": "市民材料须由市民本人提交",
    "handling evidence names its assignment": "办理材料须指明所属派单",
    "intake evidence belongs to no assignment": "受理材料不属于任何派单",
    "the ticket is no longer open for evidence": "该工单已不能再提交材料",
    "only verified evidence can be published": "只有校验通过的材料才能公开",
    "the evidence is {status}": "该材料状态为{status}",
    "no {variant} copy (yet)": "（尚）无{variant}",
    # --- knowledge synonyms ---------------------------------------------------------
    "a group has 2 to {max} different words": "一组同义词须有 2 到 {max} 个不同的词",
    "already in another group: {words}": "已在另一组同义词中：{words}",
    "at most {max} groups per list": "每个词表最多 {max} 组",
    "province-shared synonyms are managed by the province": "全省共享的同义词由省级管理",
    # --- calendar years -------------------------------------------------------------
    "a name of 1 to {max} characters": "名称须为 1 到 {max} 个字符",
    "the year must be {first} to {last}": "年份须在 {first} 到 {last} 之间",
    "the time must be within the years {first} to {last}": "时间须在 {first} 年到 {last} 年之间",
    "start and end must be at most {days} days apart": "起止时间相隔不得超过 {days} 天",
    "a value is too long, out of range or malformed for where it goes": (
        "某个输入值过长、超出范围或格式不对"
    ),
    "text must not contain NUL characters or unpaired surrogates": (
        "文本不得包含 NUL 字符或不成对的代理字符"
    ),
    "a notice names at least one holiday range": "通知至少须包含一段放假日期",
    "holiday dates must be inside {year}": "放假日期须在 {year} 年内",
    "a holiday range ends before it starts": "放假结束日期早于开始日期",
    "a holiday range is at most {max} days": "一段放假最多 {max} 天",
    "holiday ranges overlap: {first} and {second}": "放假日期重叠：{first} 与 {second}",
    "make-up workdays must be inside {year}": "调休上班日须在 {year} 年内",
    "{day} is a weekday: a make-up workday is a Saturday or Sunday": (
        "{day} 是工作日：调休上班日须为周六或周日"
    ),
    "{day} is inside a holiday range": "{day} 在放假期间内",
    "{day} appears twice": "{day} 重复出现",
    "the file is not a notice as docs/calendar.md shows it ({error})": (
        "文件格式不符合放假通知的格式（{error}）"
    ),
    # --- suspension, supplements, city settings --------------------------------------
    "the ticket already has a suspension requested or active": "该工单已有挂起申请或正在挂起",
    "at most {max} characters": "最多 {max} 个字符",
    "too many additions to this ticket; try again later": "该工单补充次数过多，请稍后再试",
    # --- statistics -----------------------------------------------------------------
    "the period ends before it starts": "统计期间的结束日期早于开始日期",
    "a period has at most {max} days": "统计期间最多 {max} 天",
    "--to is before --from": "--to 早于 --from",
    # --- routing: gazetteer ---------------------------------------------------------
    "aliases are 2-50 characters each": "每个别名须为 2 到 50 个字符",
    "a place name is 2-100 characters": "地名须为 2 到 100 个字符",
    "kind must be among {choices}": "种类须为以下之一：{choices}",
    "a place implies a district, street or community": "地名须指向区县、街道或社区",
    "line {line} is not JSON": "第 {line} 行不是 JSON",
    "line {line} needs text and expected_function": "第 {line} 行须有 text 和 expected_function",
    "at most {max} requests": "最多 {max} 条诉求",
    "no department of the city carries a routable function yet": "本市尚无标注了可派单职能的部门",
    # --- business extension (docs/business.md) ---------------------------------------------
    "the business extension is not turned on in this city": "本市未开通营商服务",
    "not a valid unified social credit code": "统一社会信用代码无效",
    "unknown industry {code} (a GB/T 4754-2017 division)": (
        "未知行业 {code}（应为 GB/T 4754-2017 大类代码）"
    ),
    "not an amount in yuan": "金额（元）无效",
    "not a whole number": "应为整数",
    "not a date (YYYY-MM-DD)": "日期无效（YYYY-MM-DD）",
    "the name must be 1-{max} characters": "名称须为 1 到 {max} 个字符",
    "the legal representative must be at most {max} characters": "法定代表人最多 {max} 个字符",
    "the founding date is in the future": "成立日期晚于今天",
    "at most {max} tags of at most {length} characters": (
        "最多 {max} 个标签，每个最多 {length} 个字符"
    ),
    "unknown area {area}": "未知区域 {area}",
    "unknown status": "未知经营状态",
    "unknown size class": "未知企业规模",
    "an enterprise with this USCC is registered": "该统一社会信用代码的企业已登记",
    "the registry file must be .csv or .xlsx": "名录文件须为 .csv 或 .xlsx",
    "the file name must be 1-200 characters": "文件名须为 1 到 200 个字符",
    "the file must be 1 byte to {max} bytes": "文件大小须为 1 到 {max} 字节",
    "the import has already started": "导入已开始",
    "upload the file first": "请先上传文件",
    "the role must be enterprise_admin or enterprise_user": "角色须为企业管理员或企业用户",
    "enterprise admins are verified by the city or its service manager": (
        "企业管理员须由市里或服务专员核实开通"
    ),
    "a named enterprise takes no industry or area": "指定企业时不能再指定行业或区域",
    "name an enterprise, an industry or an area": "请指定企业、行业或区域",
    "this part of a portfolio was just assigned": "该服务范围刚被分配，请重试",
    "the portfolio already belongs to that manager": "该服务范围已属于这位服务专员",
    "the content has 1 to {max} characters": "内容须为 1 到 {max} 个字符",
    "the answer has 1 to {max} characters": "答复须为 1 到 {max} 个字符",
    "a comment has at most {max} characters": "评价最多 {max} 个字符",
    "the request has no outcome to rate yet": "该诉求尚无办理结果，暂不能评价",
    "the request is rated already": "该诉求已评价",
    "from must not be after to, at most {max} days": "开始日期不能晚于结束日期，最多 {max} 天",
    "the body has 1 to {max} characters": "正文须为 1 到 {max} 个字符",
    "the policy ends before it starts": "政策截止日期早于生效日期",
    "only a draft is published": "只有草稿可以发布",
    "name the enterprise": "请指定企业",
    "{key} takes a list of 1 to {max} values": "{key} 须为 1 到 {max} 个值的列表",
    "{key} bounds are whole numbers 0-200": "{key} 的上下限须为 0 到 200 的整数",
    "capital bounds are amounts in yuan": "注册资本上下限须为金额（元）",
    "a condition has exactly one key": "每个条件只能有一个键",
    "unknown area in area_in": "area_in 中有未知区域",
    "{key} takes min and/or max": "{key} 须给出 min 和/或 max",
    "{key}: min is above max": "{key}：下限高于上限",
    "tags have 1 to 20 characters": "标签须为 1 到 20 个字符",
    "unknown condition {key}": "未知条件 {key}",
    "a group has op (all or any) and a list of conditions": (
        "条件组须有 op（all 或 any）和条件列表"
    ),
    "unknown collateral kind": "未知担保方式",
    "a rate is a yearly percentage above 0, at most {max}": (
        "利率须为大于 0、不超过 {max} 的年化百分比"
    ),
    "a term is 1 to {max} months": "期限须为 1 到 {max} 个月",
    "name the collateral kinds the product accepts": "请注明产品接受的担保方式",
    "the amount is outside the product's range {low}-{high} yuan": (
        "金额不在产品额度范围 {low}-{high} 元之内"
    ),
    "the enterprise applied for this product already": "企业已申请过该产品",
    "the application is decided already": "该申请已有结果",
    "an approval names its amount": "批准时须注明批准金额",
    "name a request or a product": "请指定诉求或产品",
    "only a legal request goes to a legal service provider": "只有法律服务类诉求可派给法律服务机构",
    "groups nest at most {max} deep": "条件组最多嵌套 {max} 层",
    "at most {max} conditions": "最多 {max} 个条件",
    "a condition is an object": "每个条件须为一个对象",
    "{name} is required": "{name} 为必填项",
    "{name} has at most {max} characters": "{name} 最多 {max} 个字符",
    "a moment needs its UTC offset": "时间须带 UTC 偏移",
    "answeredAt is given exactly when the outcome is ANSWERED": (
        "仅当结果为 ANSWERED（已接听）时填写 answeredAt"
    ),
    "a call is answered after it starts": "接听时间须晚于呼入时间",
    "a call ends after it is answered": "挂断时间须晚于接听时间",
    "call records come from the call center's system, with its API key": (
        "话单须由呼叫中心系统使用其 API 密钥推送"
    ),
    "a batch has at most {max} calls": "每批最多 {max} 条话单",
    "a report needs its period": "报表须指定统计期间",
    "a province export covers every city": "全省导出覆盖全部城市，不能指定部门",
    "a province export filters by status, kind, channel and period": (
        "全省导出只能按状态、类型、渠道和受理期间筛选"
    ),
    "only an ended month can be published": "只能公开已结束月份的数据",
    "only a closed case that is not confidential is published": "只能公开已办结且非保密的工单",
    "an export is downloaded by the person who asked for it": "导出文件只能由申请人下载",
    # --- intake channels (docs/channels.md) -------------------------------------------
    "the request's timestamp is outside the accepted window": "请求时间戳超出允许范围",
    "a signed request needs its Unix timestamp": "签名请求须带 Unix 时间戳",
    "the request's signature is wrong": "请求签名错误",
    "an EncodingAESKey is {length} characters": "EncodingAESKey 须为 {length} 个字符",
    "the encrypted message cannot be read": "无法解密该加密消息",
    "the encrypted message was not written for this account": "该加密消息不属于本公众号",
    "the account takes only encrypted messages": "本公众号只接收加密消息（安全模式）",
    "the account takes only plain messages": "本公众号只接收明文消息",
    "the request's nonce is missing or too long": "请求的 nonce 缺失或过长",
    "the request replays a nonce already used": "请求重复使用了已用过的 nonce（重放）",
    "MediaId is too large": "MediaId 对应的文件过大",
    "a call id is 1 to {max} characters": "通话编号须为 1 至 {max} 个字符",
    "the proposal was decided already: {status}": "该重复件建议已处理：{status}",
    "a signed channel is one of {channels}": "签名渠道须为以下之一：{channels}",
    "{source} must be an http or https URL": "{source} 须为 http 或 https 地址",
    "{source} answered HTTP {status}": "{source} 返回 HTTP {status}",
    "{source} is larger than {max} bytes": "{source} 超过 {max} 字节",
    "{source} cannot be fetched: {why}": "无法获取 {source}：{why}",
    "{name} must be a number": "{name} 须为数字",
    "service_code is required": "缺少 service_code",
    "a location is required: lat and long, address_string or address_id": (
        "须提供位置：lat 和 long、address_string 或 address_id"
    ),
    "description has at most {max} characters": "description 最多 {max} 个字符",
    "attribute[subcategory] must be one of the service's values": (
        "attribute[subcategory] 须为该服务的可选值之一"
    ),
    "attribute[kind] is not a known kind": "attribute[kind] 不是已知的诉求类型",
    "{name} must be a W3C date-time": "{name} 须为 W3C 日期时间格式",
    "status is open, closed or both": "status 须为 open、closed 或两者",
    "a message id is 1 to {max} characters": "消息编号须为 1 至 {max} 个字符",
    "place names are 2 to 50 characters": "地名须为 2 至 50 个字符",
    "a city keeps at most {max} place names": "每个城市最多保存 {max} 个地名",
    "message_id is 1 to {max} characters": "message_id 须为 1 至 {max} 个字符",
    "the message has no text": "短信没有内容",
    "a message has at most {max} characters": "短信最多 {max} 个字符",
    "the attached file is refused: {why}": "附件被拒绝：{why}",
    "security is ssl or starttls": "security 须为 ssl 或 starttls",
    "an authserv-id is the mail server's name: letters, digits, dots and dashes": (
        "authserv-id 是邮件服务器的名称：只能包含字母、数字、点和连字符"
    ),
    "the body is not a WeChat message": "请求内容不是微信消息",
    "an account needs its AppID, AppSecret and template id": (
        "公众号须提供 AppID、AppSecret 和模板编号"
    ),
    "a mailbox needs a host, a port, a user name and a password": (
        "邮箱须提供主机、端口、用户名和密码"
    ),
}

# Parameter values worth translating: what NotFound names, roles, kinds, statuses,
# the password policy's findings, the things a reason is asked for.
TERMS_ZH: dict[str, str] = {
    # NotFound nouns
    "enterprise": "企业",
    "policy": "政策",
    "import": "导入任务",
    "service manager": "服务专员",
    "portfolio rule": "服务范围",
    "business request": "企业诉求",
    "bank": "银行",
    "financing product": "融资产品",
    "financing need": "融资需求",
    "financing application": "融资申请",
    "legal service provider": "法律服务机构",
    "service": "服务类别",
    "service request": "服务请求",
    "token": "受理凭证",
    "synonym group": "同义词组",
    "suspension": "挂起申请",
    "object": "对象",
    "API key": "API 密钥",
    "article": "知识条目",
    "assignment": "派单",
    "category": "分类",
    "city": "城市",
    "export": "导出",
    "tenant": "城市",
    "dead letter": "失败通知",
    "department": "部门",
    "evidence": "材料",
    "extension request": "延期申请",
    "membership": "任职",
    "province": "省份",
    "routing rule": "派单规则",
    "gazetteer place": "地名",
    "supervision": "督办",
    "ticket": "工单",
    "call": "通话",
    "duplicate proposal": "重复件建议",
    "decided": "已处理",
    "merged": "已合并",
    "dismissed": "已驳回",
    "user": "用户",
    "webhook endpoint": "Webhook 地址",
    "node": "对象",
    # what _required asks for
    "a reason": "理由",
    "the content": "诉求内容",
    "the reply": "答复内容",
    "a comment": "意见",
    # roles
    "tenant_admin": "城市管理员",
    "city_leader": "市领导",
    "agent": "话务员",
    "dispatcher": "派单员",
    "supervisor": "督办员",
    "dept_handler": "部门承办人",
    "dept_manager": "部门负责人",
    "service_manager": "服务经理",
    "enterprise_admin": "企业管理员",
    "enterprise_user": "企业用户",
    "auditor": "审计员",
    # department kinds
    "center": "热线中心",
    "district": "区县",
    "street": "街道",
    "community": "社区",
    "bureau": "委办局",
    "utility": "公共事业单位",
    "duty_room": "值班室",
    "landmark": "地标",
    # evidence kinds, variants, statuses
    "photo": "照片",
    "video": "视频",
    "audio": "音频",
    "original": "原件",
    "thumbnail": "缩略图",
    "poster": "视频封面",
    "public": "公开版本",
    "pending": "待上传",
    "verifying": "校验中",
    "verified": "已校验",
    "rejected": "已拒绝",
    "withdrawn": "已撤回",
    "abandoned": "已放弃",
    "expired": "已过期",
    # GraphQL types named by a global id of the wrong type (schema.ids)
    "extensionrequest": "延期申请",
    "routingrule": "派单规则",
    "apikey": "API 密钥",
    "timelineevent": "工单流转记录",
    "revisit": "回访",
    "notice": "通知",
    "notificationtemplate": "通知模板",
    "webhookendpoint": "Webhook 地址",
    "deadletter": "失败通知",
    "calendarday": "日历日期",
    "enterpriseimport": "导入任务",
    "businessrequest": "企业诉求",
    "portfoliorule": "服务范围",
    "financingproduct": "融资产品",
    "financingapplication": "融资申请",
    # the password policy's findings (hotline.platform.auth.passwords)
    "must be at least 10 characters long": "至少 10 个字符",
    "must be at most 256 characters long": "最多 256 个字符",
    "must mix at least 3 of lowercase, uppercase, digits and other characters "
    "(or be at least 16 characters long)": (
        "须包含小写字母、大写字母、数字、其他字符中的至少 3 类（或至少 16 个字符）"
    ),
    "must not contain the username": "不能包含用户名",
}
