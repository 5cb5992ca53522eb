# L7 intentions for api, written with repeated blocks instead of lists.
#   consul config write config/api.hcl
Kind = "service-intentions"
Name = "api"

Sources {
  Name   = "dashboard"
  Action = "allow"

  Permissions = [
    {
      Action = "deny"
      HTTP {
        PathPrefix = "/v1/admin"
      }
    },
    {
      Action = "allow"
      HTTP {
        PathPrefix = "/v1/"
        Methods    = ["GET", "HEAD"]
      }
    },
    {
      Action = "allow"
      HTTP {
        PathExact = "/v1/votes"
        Methods   = ["POST"]
        Header = [
          {
            Name   = "content-type"
            Prefix = "application/json"
          },
        ]
      }
    },
    # Any other write: a caller matched here never falls through to the wildcard deny-all;
    # without this, Consul's default intention policy would decide it.
    {
      Action = "deny"
      HTTP {
        PathPrefix = "/v1/"
      }
    },
  ]
}

Sources {
  Name = "ops-console"

  Permissions = [
    {
      Action = "allow"
      HTTP {
        PathPrefix = "/v1/admin/"
        Header = [
          {
            Name  = "x-ops-team"
            Exact = "sre"
          },
        ]
      }
    },
    # Anything else from ops-console: without this, the default intention policy would decide it.
    {
      Action = "deny"
      HTTP {
        PathPrefix = "/"
      }
    },
  ]
}
