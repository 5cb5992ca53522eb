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
  ]
}
