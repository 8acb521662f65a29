"""Use cases, one module per system of the office's policy (policy.zh.txt §2).

Moved here so far: `ledger_mgmt` (台账管理: 立项, 交办 and who gets a matter by default).
The rest still lives in `ledger.services` and `ledger.special` (see docs/architecture.md).
"""
