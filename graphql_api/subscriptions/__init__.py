"""Plans, customer subscriptions and their quotas."""
