"""Execution: the broker protocol and its paper implementation, the order router,
portfolio, instruments and the risk gate."""
