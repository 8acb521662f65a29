"""The read-only public web page of posted matters (公示, §2.7)."""
