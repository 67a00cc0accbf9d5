"""Exchange history: Binance's public data archives fetched, verified and cached
(``botkit download``); :mod:`botkit.sources` replays them."""

from ._download import BASE_URL, Download, DownloadResult, archive_dates, download

__all__ = ["BASE_URL", "Download", "DownloadResult", "archive_dates", "download"]
