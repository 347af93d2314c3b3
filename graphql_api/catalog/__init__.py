"""Services, prices, business hours and help articles."""
