"""Token wallet and ledger, Razorpay orders and payments, threshold alerts."""
