"""PayU India: hosted checkout, the General (command) API, callbacks and a simulator."""
