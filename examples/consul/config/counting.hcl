# Intentions for the same app on Consul outside Kubernetes:
#   consul config write config/counting.hcl
# counting is an L4 (tcp) service, so each source has an Action.
Kind = "service-intentions"
Name = "counting"

Sources = [
  {
    Name        = "dashboard"
    Action      = "allow"
    Description = "the dashboard polls the counter"
  },
  {
    Name   = "api"
    Action = "allow"
  },
]
