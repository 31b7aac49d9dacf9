"""W7, technician search on Chinese text (issue 14's target), and the texts it searches.

**W7.** A technician of the busiest provider (34 % of the tickets) searches
`/work/search/?q=…` through the real page, the queries taken in turn from `QUERIES`
(Chinese words of two to six characters, as technicians type them: rare and common).
Each answer must be 200 with its count of tickets found. Before the run, each query is
also run in-process: the page's queries are counted (they must not depend on the hits),
and every ticket found must be in the provider's queues (`check_scope`).

The seed's descriptions and timeline texts come from `description()` and `reply()`:
deterministic by ticket id, about 70 % Chinese and 30 % English, composed from a few
hundred fragments with a skewed choice, so a word is as rare or as common as in a real
fault desk ("打印" in about one ticket in eight, "卡纸" in one in forty, "闪退" rarer),
not one of ten fixed sentences that every tenth ticket repeats.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from urllib.parse import urlencode

from bench.loadgen import BenchError, Client, expect

# --- the texts -------------------------------------------------------------------------

# (fault, weight): what the merchant says is wrong, in their words.
FAULTS_ZH = [
    ("屏幕不亮，电源灯一直闪", 9),
    ("屏幕碎了，触摸没有反应", 4),
    ("打印机卡纸，小票打不出来", 6),
    ("打印出来的小票是空白的", 5),
    ("打印很淡，字看不清", 3),
    ("刷卡没反应，读卡器好像坏了", 6),
    ("插卡提示读卡失败", 4),
    ("闪付不能用，插卡可以", 5),
    ("按键失灵，数字键4和7按不动", 3),
    ("电池不耐用，充满电一个小时就没电", 4),
    ("充电口松了，充不进电", 2),
    ("开机后一直重启", 4),
    ("连不上WiFi，路由器刚换过", 6),
    ("4G信号很弱，经常掉线", 5),
    ("显示网络连接失败", 6),
    ("连不上支付主机，提示通讯超时", 4),
    ("SIM卡识别不了", 2),
    ("系统很卡，每笔交易要等一分钟", 5),
    ("升级到一半停了，一直在转圈", 3),
    ("收款应用闪退，打开就退出", 2),
    ("签到失败，提示参数错误", 3),
    ("显示错误码11，交易做不了", 4),
    ("结算不成功，批上送失败", 2),
    ("顾客扣款了但终端显示交易失败", 5),
    ("撤销交易后顾客没收到退款", 3),
    ("手续费扣得比合同上多", 2),
    ("同一笔交易扣了两次款", 2),
    ("退货交易失败，提示原交易不存在", 1),
    ("扫码支付一直提示订单超时", 3),
    ("密码键盘显示乱码", 1),
]
FAULTS_EN = [
    ("the screen stays dark after switching on; the power light blinks", 9),
    ("the screen is cracked and touch does not respond", 4),
    ("the printer jams and no receipt comes out", 6),
    ("receipts come out blank", 5),
    ("the card reader does not react to any card", 6),
    ("contactless payments fail, chip works", 5),
    ("keys 4 and 7 of the keypad do not respond", 3),
    ("the battery drains within an hour", 4),
    ("it restarts in a loop after switching on", 4),
    ("it cannot connect to Wi-Fi since the router was replaced", 6),
    ("the mobile data signal keeps dropping", 5),
    ("it cannot reach the payment host, communication timeout", 4),
    ("every payment takes over a minute", 5),
    ("the update stopped half way", 3),
    ("it shows error 11 on every payment", 4),
    ("a customer was charged but the terminal shows the payment as failed", 5),
    ("a refund after a void never reached the customer", 3),
    ("QR code payments say the order timed out", 3),
]
WHEN_ZH = ["今天早上开始", "从昨天晚上起", "上周开始", "刚才", "中午高峰期", "", "这两天"]
WHERE_ZH = ["收银台的", "二号收银台的", "店里的", "前台的", "新换的", "用了三年的", "", ""]
DEVICE_ZH = ["POS机", "刷卡机", "收款机", "终端", "机器"]
TRIED_ZH = [
    "已经重启过两次",
    "换了电源线也不行",
    "重启路由器后还是一样",
    "还没试过别的",
    "客服电话打不通",
    "急用，请尽快处理",
    "影响营业，麻烦尽快上门",
    "昨天也出现过一次",
    "备用机也有同样问题",
]
WHEN_EN = ["Since this morning", "Since last night", "Since last week", "Just now", "At lunch"]
TRIED_EN = [
    "We restarted it twice.",
    "A new power cable did not help.",
    "Restarting the router changed nothing.",
    "Please come soon, we cannot sell.",
    "It happened yesterday too.",
]
# Technicians' public replies and questions, internal notes, merchants' answers.
REPLIES_ZH = [
    "请长按电源键十秒重启终端。",
    "我们已推送参数更新，请做一笔测试交易。",
    "明天上午安排工程师上门。",
    "请拍一张屏幕报错的照片发给我们。",
    "备用机已通过顺丰寄出，运单号SF{n}。",
    "请检查打印纸是否装反，热敏面朝上。",
    "主板故障，需要返厂维修，预计五个工作日。",
    "已远程重置网络参数，请再试一次。",
    "退款已提交收单行，一到三个工作日到账。",
    "客户情绪较大，优先处理。",
    "疑似读卡模块损坏，已申请更换。",
    "重启了还是不行。",
    "照片已上传，请查看。",
    "好的，明天上午店里有人。",
]
REPLIES_EN = [
    "Please restart the terminal holding the power key for ten seconds.",
    "We pushed a configuration update; please try a test payment.",
    "A technician will visit tomorrow morning.",
    "Could you send a photo of the error on the screen?",
    "Replacement unit dispatched by courier, tracking SF{n}.",
    "Mainboard fault: it goes back to the repair centre.",
    "Restarted it, still the same.",
]


def _weighted(items: list[tuple[str, int]]) -> tuple[list[str], list[int]]:
    texts = [text for text, _ in items]
    cumulative, total = [], 0
    for _, weight in items:
        total += weight
        cumulative.append(total)
    return texts, cumulative


_ZH = _weighted(FAULTS_ZH)
_EN = _weighted(FAULTS_EN)


def description(ticket_id: int) -> str:
    """A merchant's description of a fault, the same for the same ticket id."""
    rng = random.Random(ticket_id * 7919 + 1)
    if rng.random() < 0.7:
        texts, cumulative = _ZH
        fault = rng.choices(texts, cum_weights=cumulative)[0]
        return (
            f"{rng.choice(WHEN_ZH)}{rng.choice(WHERE_ZH)}{rng.choice(DEVICE_ZH)}{fault}，"
            f"{rng.choice(TRIED_ZH)}。"
        )
    texts, cumulative = _EN
    fault = rng.choices(texts, cum_weights=cumulative)[0]
    return f"{rng.choice(WHEN_EN)} {fault}. {rng.choice(TRIED_EN)}"


def reply(ticket_id: int, k: int = 0) -> str:
    """A timeline text (reply, question, note, the merchant's answer) of a ticket."""
    rng = random.Random(ticket_id * 104729 + k)
    pool = REPLIES_ZH if rng.random() < 0.7 else REPLIES_EN
    return rng.choice(pool).format(n=f"{ticket_id * 37 % 10**10:010d}")


# --- the workload ----------------------------------------------------------------------

# What technicians type: two-character words (most Chinese words), longer words and a
# clause, rare (闪退, 乱码) and common (屏幕, 打印).
QUERIES = [
    "卡纸",
    "闪退",
    "退款",
    "屏幕",
    "掉线",
    "乱码",
    "打印机",
    "读卡器",
    "通讯超时",
    "错误码",
    "小票打不出来",
    "扣了两次",
]
W7_LABEL = "W7 search, Chinese"


def path_for(query: str) -> str:
    return "/work/search/?" + urlencode({"q": query})


class Rotation:
    """The next query, all of them in turn, shared by the clients."""

    def __init__(self, queries: list[str]) -> None:
        self.queries, self.taken, self.lock = queries, 0, threading.Lock()

    def take(self) -> str:
        with self.lock:
            query = self.queries[self.taken % len(self.queries)]
            self.taken += 1
        return query


def action_for(rotation: Rotation) -> Callable[[Client], None]:
    def action(client: Client) -> None:
        query = rotation.take()
        response = expect(client.get(path_for(query)), 200, f"search {query}")
        if b'id="search-total"' not in response.body:
            raise BenchError(f"search {query}: no count of tickets found on the page")

    return action


def check_scope(meta) -> tuple[bool, str]:  # noqa: ANN001 - bench.seed.Seeded
    """Every query in-process: how many it finds, and that all are the provider's."""
    from tickets import search
    from tickets.models import Queue, Ticket

    provider = Queue.objects.get(pk=meta.busiest_queue_id).provider
    totals, outside = [], 0
    for query in QUERIES:
        found = search.search(provider, query, offset=0, limit=100_000)
        totals.append(f"{query} {found.total}")
        outside += Ticket.objects.filter(pk__in=found.ids).exclude(queue__provider=provider).count()
    return outside == 0 and all(not t.endswith(" 0") for t in totals), (
        f"found: {', '.join(totals)}; outside the provider's queues: {outside}"
    )


def run(bench, row: type, measure_queries: Callable) -> None:  # noqa: ANN001 - bench.run
    """The W7 rows of `bench/run.py`'s table, for 1 client (the target) and 4."""
    techs = bench.meta.busiest_provider_techs
    clients = bench.logged_in(techs[:4])
    why = bench.probe(clients[0], path_for(QUERIES[0]))
    if why:
        bench.skip(W7_LABEL, 1, why)
        return
    # A common word and a rare one take different reads (tickets.search: up to three
    # windows per place), never more than the search's bound over the page's own.
    from tickets import search

    counts = {measure_queries(techs[0], path_for(q))[1] for q in QUERIES}
    ok, scope = check_scope(bench.meta)
    print(f"  W7: queries per page {sorted(counts)}; {scope}")
    if max(counts) - min(counts) > search.STATEMENTS_MAX - 4 or not ok:
        bench.skip(W7_LABEL, 1, f"queries per page {sorted(counts)}; {scope}")
        return
    _status, queries, sql_ms = max(measure_queries(techs[0], path_for(q)) for q in QUERIES)
    for n in (1, 4):
        result = bench.phase(f"{W7_LABEL} ({n})", clients[:n], action_for(Rotation(QUERIES)))
        bench.rows.append(row(W7_LABEL, n, result, queries, sql_ms, note=scope))
