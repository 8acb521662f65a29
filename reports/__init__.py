"""Reports: bulletins (text, chart, .docx), formal notices, the Excel ledger, the annual appraisal."""
