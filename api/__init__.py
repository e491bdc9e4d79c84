"""zhengwu (智慧政务): the Litestar API of the smart government services platform."""
