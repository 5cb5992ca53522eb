/** A Deployment of namespace `shop`: service account `name`, pods labelled app=`name`, port 8080. */
export function shopDeployment(name: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: shop}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {serviceAccountName: ${name}, containers: [{name: ${name}, image: ${name}, ports: [{containerPort: 8080}]}]}
`;
}

/** The `cart` Deployment of namespace `shop`. */
const CART_DEPLOYMENT = shopDeployment('cart');

/**
 * A small Istio workspace in one file: a namespace-wide allow-nothing in `shop`, an ALLOW for GET
 * from the `shop/frontend` service account to the pods labelled app=cart, and the `cart`
 * Deployment whose pods carry that label (the inventory a call naming the workload is resolved by).
 */
export const CART_READERS_WORKSPACE = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: shop}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: cart-readers, namespace: shop}
spec:
  selector:
    matchLabels: {app: cart}
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/shop/sa/frontend"]
    to:
    - operation:
        methods: ["GET"]
---
${CART_DEPLOYMENT}`;

/** The `shop` namespace (sidecar injection on) and the `cart` Deployment (service account cart, port 8080), for tables that bring their own policies. */
export const SHOP_CART_MANIFESTS = `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
${CART_DEPLOYMENT}`;

/** An ALLOW for GET from the `shop/web` service account to the pods labelled app=cart. */
export const CART_READERS_FROM_WEB = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: cart-readers, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  rules:
  - from: [{source: {principals: ["cluster.local/ns/shop/sa/web"]}}]
    to: [{operation: {methods: [GET]}}]
`;
