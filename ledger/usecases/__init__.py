"""Use cases, one module per system of the office's policy (policy.zh.txt §2):

- `ledger_mgmt`: 1 台账管理 — 立项, 交办, 分解, 撤销; who gets a matter by default;
- `deadlines`: 3 限时办结 — 签收 with a committed deadline, 延期;
- `closing`: 3/7 办结 and 销号 — progress, 办结 asked, 审核, 销号 or 退回;
- `accountability`: 10 责任追究 — 催办, 通报批评 flag, 表彰, 批评, 追究, pausing reminders;
- `liaisons`: 5 聘员督办 — inspections (明查/暗访) and proposals;
- `special`: 8 专项督查 — 三个优先, projects and figures, key enterprises' visits;
- `meetings`: 9 联席会议 — meetings and their decisions;
- `people`: 4 责任落实 — the office, units, invitations, groups, reachability;
- `turnover`: 4 责任落实 — people leaving and their successors (/revoke, /handover);
- `reading`: what a person may read (the policy decides what is shown);
- `records`, `_shared`: helpers the modules share.

6 督查通报 (bulletins) is `ledger.bulletins` / `ledger.reporting`; 7 公示 is
`ledger.publicview`. Who may see what where, and which actions are offered: `ledger.policy`.
Callers import the module of the system they use (there is no re-export module).
"""
