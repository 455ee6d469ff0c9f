"""Word lists for plausible Chinese personal names, trade names and addresses."""

from __future__ import annotations

# Common surnames with rough relative frequencies (the top of the national surname tables).
# fmt: off
SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 7.2), ("李", 7.0), ("张", 6.8), ("刘", 5.4), ("陈", 4.6), ("杨", 3.1), ("黄", 2.5),
    ("赵", 2.3), ("吴", 2.1), ("周", 2.0), ("徐", 1.7), ("孙", 1.5), ("马", 1.4), ("朱", 1.3),
    ("胡", 1.3), ("郭", 1.2), ("何", 1.2), ("林", 1.1), ("高", 1.1), ("罗", 1.0), ("郑", 1.0),
    ("梁", 0.9), ("谢", 0.8), ("宋", 0.7), ("唐", 0.7), ("许", 0.7), ("韩", 0.6), ("冯", 0.6),
    ("邓", 0.6), ("曹", 0.6), ("彭", 0.5), ("曾", 0.5), ("肖", 0.5), ("田", 0.5), ("董", 0.5),
    ("潘", 0.4), ("袁", 0.4), ("蔡", 0.4), ("蒋", 0.4), ("余", 0.4), ("于", 0.4), ("杜", 0.4),
    ("叶", 0.4), ("程", 0.4), ("魏", 0.3), ("苏", 0.3), ("吕", 0.3), ("丁", 0.3), ("任", 0.3),
    ("卢", 0.3), ("姚", 0.3), ("沈", 0.3), ("钟", 0.3), ("姜", 0.3), ("崔", 0.3), ("谭", 0.3),
    ("陆", 0.3), ("范", 0.2), ("汪", 0.2), ("廖", 0.2), ("石", 0.2), ("金", 0.2), ("韦", 0.2),
    ("贾", 0.2), ("夏", 0.2), ("付", 0.2), ("方", 0.2), ("邹", 0.2), ("熊", 0.2), ("白", 0.2),
    ("孟", 0.2), ("秦", 0.2), ("邱", 0.2), ("侯", 0.2), ("江", 0.2), ("尹", 0.2), ("薛", 0.2),
    ("闫", 0.2), ("段", 0.2), ("雷", 0.2), ("龙", 0.1), ("黎", 0.1), ("史", 0.1), ("陶", 0.1),
    ("贺", 0.1), ("毛", 0.1), ("郝", 0.1), ("顾", 0.1), ("龚", 0.1), ("邵", 0.1), ("万", 0.1),
    ("覃", 0.1), ("武", 0.1), ("钱", 0.1), ("戴", 0.1), ("严", 0.1), ("莫", 0.1), ("孔", 0.1),
    ("楼", 0.1), ("厉", 0.05), ("欧阳", 0.05), ("诸葛", 0.01),
)
# fmt: on

# Characters of given names: one or two of them after the surname.
GIVEN_CHARACTERS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国文辉玲红梅鹏飞宇浩然婷雪琳"
    "斌波宁俊峰凯晨欣怡佳慧颖志新海燕萍春林晓东小云立群淑珍永胜德福成荣宏亮鑫瑞博"
    "子轩梓涵雨欣思远嘉豪晗铭诚坤彬丹倩莉蕾琴慧晶金锋耀庆松振良忠贵喜达"
)

# Characters of trade names (字号), combined two at a time.
TRADE_NAME_CHARACTERS = (
    "鸿泰华盛兴隆恒通达顺鑫源丰瑞祥和信诚德福宏金宝佳美新天宇海亿万豪康益晨博创腾凯锦"
    "荣昌永升旺汇聚远东星明志嘉润翔辉卓越立安乐欣悦品优尚捷力科智合正邦联发利禾绿青"
    "山峰林森江川泽溪云帆航启晟煜琪璟铭睿鼎浩"
)

# Organisational forms of companies (the suffix of the name) with relative frequencies.
COMPANY_FORMS: tuple[tuple[str, float], ...] = (
    ("有限公司", 0.86),
    ("有限责任公司", 0.06),
    ("股份有限公司", 0.03),
    ("厂", 0.05),  # sole proprietorships and old collectives; manufacturing only
)

# Individual businesses (个体工商户) name the owner or a nickname before the shop word.
SHOP_PREFIX_PATTERNS = ("{surname}记", "老{surname}", "{trade}", "{trade}", "阿{given}")

# Roads and streets of addresses.
# fmt: off
ROADS = (
    "人民路", "解放路", "中山路", "建设路", "环城路", "新华路", "文化路", "学院路", "工业路",
    "兴业路", "振兴路", "江滨路", "城中路", "府前路", "商城大道", "迎宾大道", "创业路",
    "望江路", "青年路", "健康路", "光明路", "胜利路", "和平路", "广场路", "站前路", "体育路",
    "滨河路", "园区大道", "科技路", "金山路", "南山路", "北门街", "西街", "东街", "前进路",
)
# fmt: on

# Generic township-level names for counties without a hand-written list.
# fmt: off
GENERIC_TOWNSHIPS = (
    "城东街道", "城西街道", "城南街道", "城北街道", "新城街道", "江滨街道", "开发区",
)
# fmt: on
TOWN_STEMS = "石溪岭塘桥坑口源头坪河湾洲庄铺集店埠山岗田岩"

# Real towns and subdistricts of the demo's home county, 东阳市 (330783).
# fmt: off
DONGYANG_TOWNSHIPS = (
    "吴宁街道", "南市街道", "白云街道", "江北街道", "城东街道", "六石街道", "横店镇", "巍山镇",
    "虎鹿镇", "歌山镇", "佐村镇", "东阳江镇", "湖溪镇", "马宅镇", "千祥镇", "南马镇", "画水镇",
)
# fmt: on

# Conflict-of-interest relations (回避事由) of inspectors.
ENTERPRISE_RELATIONS = (
    "原任职单位",
    "亲属任法定代表人",
    "亲属持股",
    "近三年内提供过咨询服务",
)
PERSON_RELATIONS = (
    "亲属（配偶）",
    "亲属（兄弟姐妹）",
    "亲属（子女）",
    "亲属（父母）",
    "近姻亲",
    "同学",
    "原同事",
)
