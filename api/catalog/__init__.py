"""The service catalog (事项库): departments, windows, items and their versions, life events."""
