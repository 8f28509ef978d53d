"""PDEs with exact solutions, for physics-informed training on the chip.

Inputs are ``[P, d + 1]``: d spatial coordinates, then time t. A PDE states its domain sampler,
its hard-constraint ansatz u = g(x, t) + c(x, t)·NN(x, t) (the boundary/terminal condition holds
for any network output), its residual in terms of u_t, ∇_x u and Δ_x u (and u itself where the
PDE needs it), and its exact solution.

* ``hjb``: the Hamilton–Jacobi–Bellman equation of the reference work, in d dimensions
  u_t + Δu − (1/d)‖∇u‖² + 2 = 0 on [0, 1]^d × [0, 1], u(x, 1) = Σx_i; exact u = Σx_i + 1 − t;
  ansatz u = Σx_i + (1 − t)·NN. At d = 20 the gradient coefficient is the reference's 0.05.
  Why 1/d and not 0.05 at every d: on the exact solution ‖∇u‖² = d, so with a fixed 0.05 the
  stated solution solves the equation only at d = 20 (the residual is 1 − 0.05·d elsewhere). Of
  the two ways to make it exact at every d — this coefficient, or the source 1 + 0.05·d — the
  coefficient keeps every term of the residual the same size at every d (u_t = −1, the
  gradient term 1, the source 2), so a small-d run is the same problem scaled down, not a
  nearly linear one. Its exact solution is linear, so Gaussian smoothing is exact on it and
  Δu = 0: it cannot show smoothing bias or Laplacian errors.
* ``heat``: the heat equation u_t = Δu on [0, 1]^d × [0, 1] with u(x, 0) = sin(a·x),
  a = 1/√d; exact u = e^{−t} sin(a·x) (Δ sin(a·x) = −‖a‖² sin(a·x) = −sin(a·x)); ansatz
  u = sin(a·x) + t·NN. Chosen as the second problem because its solution is not linear: the
  Laplacian is as large as u itself, and smoothing biases it by a known factor,
  E sin(a·(x + σz)) = e^{−σ²/2} sin(a·x), so derivative errors matter and can be checked.
* ``black-scholes``: a European call (volatility σ, interest rate r, maturity T, strike K), in
  log-moneyness y = ln(S/K) and time to maturity τ = T − t. With V(S, t) = K e^{−rτ} u(y, τ) the
  Black–Scholes equation V_t + ½σ²S²V_SS + rSV_S − rV = 0 becomes, exactly (a smooth bijection of
  S > 0, t, V, whose Jacobian factor K e^{−rτ} never vanishes: SV_S = V_y, S²V_SS = V_yy − V_y,
  V_t = −V_τ, and e^{rτ} removes the −rV term),
      u_τ = ½σ² u_yy + (r − ½σ²) u_y,
  a heat equation with drift whose residual needs only ∇ and Δ (no value, no coordinate). Exact
  (the Black–Scholes formula, V = S N(d₁) − K e^{−rτ} N(d₂)): u = e^{y + rτ} N(d₁) − N(d₂),
  d₁ = (y + (r + σ²/2)τ)/(σ√τ), d₂ = d₁ − σ√τ. Domain y ∈ [−1, 1] (S ∈ [K/e, eK]),
  τ ∈ [T/2, T]; the condition is the exact price at τ₀ = T/2, u(y, τ₀) = g(y), ansatz
  u = g(y) + (τ − τ₀)·NN. Why not the payoff at τ = 0: its kink makes u_yy a delta there and the
  learned part (u − payoff)/τ grow like τ^{−1/2} at the strike, which neither a smooth network nor
  a smoothed (Stein) derivative can follow; from τ₀ = T/2 the price is smooth, its kink rounded
  over σ√(T/2) in y. No condition is set on y = ±1 (as for heat and hjb, only the time condition).
* ``burgers``: the viscous Burgers equation u_t + u u_x = ν u_xx on [0, 1] × [0, 1] with
  u(0, t) = u(1, t) = 0. Cole–Hopf (u = −2ν φ_x/φ, φ_t = ν φ_xx) with the heat solution
  φ = a + e^{−νπ²t} cos πx (a > 1, so φ > 0) gives the closed form
  u = 2νπ e^{−νπ²t} sin πx / (a + e^{−νπ²t} cos πx), a = 2: a front steepened towards x = 1
  (the family of exact solutions listed by Benton & Platzman, Q. Appl. Math. 30, 1972; this one
  is e.g. W. L. Wood, Commun. Numer. Meth. Eng. 22, 2006). Ansatz u = g(x) + t·x(1 − x)·NN with
  g = u(·, 0): the initial and both boundary conditions hold for any network.
* ``fisher``: the Fisher–KPP equation u_t = Δu + u(1 − u) on [0, 1]^d × [0, 1] (default d = 20,
  so the reference 21-input networks take it). Exact: the travelling front of Ablowitz &
  Zeppetella (Bull. Math. Biol. 41, 1979), u = (1 + e^{(z − ct)/√6})^{−2} with
  z = n·x − √d/2, n = (1, …, 1)/√d (so Δu = u_zz), c = 5/√6 — the front starts at the domain's
  centre and advances through it. Nonlinear in u itself, with a Laplacian of the size of u's
  other terms, in any dimension. Ansatz u = g(x) + t·NN, g = u(·, 0).

Burgers and Fisher need u itself: ``residual(..., u=value)`` takes the derivative estimator's own
value (the smoothed f_σ for Stein, matching its ∇ and Δ of f_σ; the fit's value for least squares;
f(x) for finite differences and autograd). PDE parameters are checked when a PDE is built: each
error names the value and the accepted range.
"""

from __future__ import annotations

import math

import torch

from ..validation import check_positive, check_positive_int


class PDE:
    """Base of the PDEs: inputs ``[P, d + 1]`` (d spatial coordinates, then time), a domain sampler, the
    hard-constraint ansatz, the residual and the exact solution (see the module docstring)."""

    name = "pde"
    default_dim = 20
    one_dimensional = False  # True: the PDE is stated in one spatial dimension only
    params: tuple[str, ...] = ()  # the settings build_pde passes on

    def __init__(self, dim: int | None = None):
        dim = self.default_dim if dim is None else dim
        check_positive_int("the spatial dimension", dim)
        if self.one_dimensional and dim != 1:
            raise ValueError(f"{self.name} is one-dimensional: the spatial dimension must be 1, got {dim}")
        self.dim = dim

    @property
    def input_dim(self) -> int:
        """Inputs per point: the d spatial coordinates and time."""
        return self.dim + 1

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` points uniform in [0, 1]^d × [0, 1]."""
        return torch.rand(n, self.input_dim, generator=generator, dtype=torch.float64)

    def ansatz(self, x: torch.Tensor, nn: torch.Tensor) -> torch.Tensor:
        """u = g(x, t) + c(x, t)·NN of the network outputs ``nn[...]`` at points ``x[..., d + 1]``: the
        hard-constraint form that meets the PDE's initial (or terminal) and boundary conditions for any
        network."""
        raise NotImplementedError

    def residual(self, u_t: torch.Tensor, grad_x: torch.Tensor, lap_x: torch.Tensor, u=None) -> torch.Tensor:
        """The residual from u_t, ∇_x u, Δ_x u and (for PDEs that need it) the value u."""
        raise NotImplementedError

    def _value(self, u):
        if u is None:
            raise ValueError(f"the {self.name} residual needs the value u (residual(..., u=value))")
        return u

    def exact(self, x: torch.Tensor) -> torch.Tensor:
        """The exact solution u at points ``x[..., d + 1]``."""
        raise NotImplementedError

    def exact_nn(self, x: torch.Tensor) -> torch.Tensor:
        """The network output that makes the ansatz exact (the learned part's reference)."""
        raise NotImplementedError

    def describe(self) -> dict:
        """The PDE's name, dimension and parameters, for a run's records."""
        return {"name": self.name, "dim": self.dim, **{k: getattr(self, k) for k in self.params}}


class HJB(PDE):
    """u_t + Δu − (1/d)‖∇u‖² + 2 = 0 on [0, 1]^d × [0, 1], u(x, 1) = Σx_i; exact u = Σx_i + 1 − t."""

    name = "hjb"

    def ansatz(self, x, nn):
        return x[..., : self.dim].sum(-1) + (1 - x[..., self.dim]) * nn

    def residual(self, u_t, grad_x, lap_x, u=None):
        # 1/d is 0.05 to the last bit at d = 20 (both round 1/20 to the nearest double)
        return u_t + lap_x - (1 / self.dim) * (grad_x**2).sum(-1) + 2

    def exact(self, x):
        return x[..., : self.dim].sum(-1) + 1 - x[..., self.dim]

    def exact_nn(self, x):
        return torch.ones_like(x[..., 0])


class Heat(PDE):
    """u_t = Δu on [0, 1]^d × [0, 1], u(x, 0) = sin(a·x) with a = (1, …, 1)/√d; exact u = e^{−t} sin(a·x)."""

    name = "heat"

    def _phase(self, x):
        return x[..., : self.dim].sum(-1) / math.sqrt(self.dim)

    def ansatz(self, x, nn):
        return torch.sin(self._phase(x)) + x[..., self.dim] * nn

    def residual(self, u_t, grad_x, lap_x, u=None):
        return u_t - lap_x

    def exact(self, x):
        return torch.exp(-x[..., self.dim]) * torch.sin(self._phase(x))

    def exact_nn(self, x):
        t = x[..., self.dim]
        # (e^{−t} − 1)/t, continued to −1 at t = 0
        factor = torch.where(t.abs() > 1e-8, torch.expm1(-t) / torch.where(t == 0, 1.0, t), -1.0 + 0 * t)
        return factor * torch.sin(self._phase(x))


def _expm1_over(rate: float, t: torch.Tensor) -> torch.Tensor:
    """(e^{−rate·t} − 1)/t, continued to −rate at t = 0 (expm1: no cancellation at small t)."""
    return torch.where(t == 0, -rate + 0 * t, torch.expm1(-rate * t) / torch.where(t == 0, 1.0, t))


def _finite(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


class BlackScholes(PDE):
    """A European call in log-moneyness and time to maturity (see the module docstring)."""

    name = "black-scholes"
    default_dim = 1
    one_dimensional = True
    params = ("volatility", "interest_rate", "maturity", "strike")

    def __init__(
        self,
        dim: int | None = None,
        *,
        volatility: float = 0.2,
        interest_rate: float = 0.05,
        maturity: float = 1.0,
        strike: float = 1.0,
    ):
        super().__init__(dim)
        self.volatility = float(check_positive("the black-scholes volatility", volatility))
        self.interest_rate = _finite("the black-scholes interest rate", interest_rate)
        self.maturity = float(check_positive("the black-scholes maturity", maturity))
        self.strike = float(check_positive("the black-scholes strike", strike))
        self.tau0 = self.maturity / 2  # the time to maturity of the initial condition

    def sample(self, n, generator=None):
        """``n`` points uniform in y ∈ [−1, 1] × τ ∈ [T/2, T]."""
        x = torch.rand(n, 2, generator=generator, dtype=torch.float64)
        return torch.stack([2 * x[:, 0] - 1, self.tau0 + (self.maturity - self.tau0) * x[:, 1]], -1)

    def _d(self, y, tau):
        s = self.volatility * torch.sqrt(tau)
        d1 = (y + (self.interest_rate + self.volatility**2 / 2) * tau) / s
        return d1, d1 - s

    def _u(self, y, tau):
        d1, d2 = self._d(y, tau)
        return torch.exp(y + self.interest_rate * tau) * torch.special.ndtr(d1) - torch.special.ndtr(d2)

    def ansatz(self, x, nn):
        y, tau = x[..., 0], x[..., 1]
        return self._u(y, self.tau0 + 0 * tau) + (tau - self.tau0) * nn

    def residual(self, u_t, grad_x, lap_x, u=None):
        s2 = self.volatility**2
        return u_t - s2 / 2 * lap_x - (self.interest_rate - s2 / 2) * grad_x[..., 0]

    def exact(self, x):
        return self._u(x[..., 0], x[..., 1])

    def _u_tau(self, y, tau):
        """∂u/∂τ in closed form: e^{y + rτ} (σ N′(d₁)/(2√τ) + r N(d₁))."""
        d1, _ = self._d(y, tau)
        density = torch.exp(-(d1**2) / 2) / math.sqrt(2 * math.pi)
        r, s = self.interest_rate, self.volatility
        return torch.exp(y + r * tau) * (s * density / (2 * torch.sqrt(tau)) + r * torch.special.ndtr(d1))

    def exact_nn(self, x):
        y, tau = x[..., 0], x[..., 1]
        h = tau - self.tau0
        near = h.abs() < 1e-7  # the difference quotient loses digits there: its limit, u_τ(τ₀)
        quotient = (self._u(y, tau) - self._u(y, self.tau0 + 0 * tau)) / torch.where(near, 1.0, h)
        return torch.where(near, self._u_tau(y, self.tau0 + 0 * tau), quotient)

    def price(self, s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The call's price V(S, t) = K e^{−rτ} u(ln(S/K), T − t) (for S > 0, t < T)."""
        tau = self.maturity - t
        return self.strike * torch.exp(-self.interest_rate * tau) * self._u(torch.log(s / self.strike), tau)


class Burgers(PDE):
    """The viscous Burgers equation with a Cole–Hopf closed form (see the module docstring)."""

    name = "burgers"
    default_dim = 1
    one_dimensional = True
    params = ("viscosity", "offset")

    def __init__(self, dim: int | None = None, *, viscosity: float = 0.1, offset: float = 2.0):
        super().__init__(dim)
        self.viscosity = float(check_positive("the burgers viscosity", viscosity))
        if isinstance(offset, bool) or not isinstance(offset, (int, float)) or not 1 < offset < math.inf:
            raise ValueError(
                f"the burgers offset a must be a finite number > 1 (so that φ = a + e^(−νπ²t) cos πx "
                f"stays positive), got {offset!r}"
            )
        self.offset = float(offset)
        self.decay = self.viscosity * math.pi**2  # λ = νπ²

    def _u(self, x, t):
        e = torch.exp(-self.decay * t)
        return (
            2
            * self.viscosity
            * math.pi
            * e
            * torch.sin(math.pi * x)
            / (self.offset + e * torch.cos(math.pi * x))
        )

    def ansatz(self, x, nn):
        s, t = x[..., 0], x[..., 1]
        return self._u(s, 0 * t) + t * s * (1 - s) * nn

    def residual(self, u_t, grad_x, lap_x, u=None):
        return u_t + self._value(u) * grad_x[..., 0] - self.viscosity * lap_x

    def exact(self, x):
        return self._u(x[..., 0], x[..., 1])

    def exact_nn(self, x):
        s, t = x[..., 0], x[..., 1]
        a, c, e = self.offset, torch.cos(math.pi * s), torch.exp(-self.decay * t)
        # sin πx/(x(1 − x)) = π(sinc x + sinc(1 − x)), finite at both ends; and
        # (u − g)/t = 2νπ a sin πx ((e^{−λt} − 1)/t) / ((a + e^{−λt} cos πx)(a + cos πx))
        shape = math.pi * (torch.sinc(s) + torch.sinc(1 - s))
        return 2 * self.viscosity * math.pi * a * shape * _expm1_over(self.decay, t) / ((a + e * c) * (a + c))


class Fisher(PDE):
    """The Fisher–KPP equation with its travelling front (see the module docstring)."""

    name = "fisher"
    speed = 5 / math.sqrt(6)  # the front's speed c in z

    def _z(self, x):
        return (x[..., : self.dim].sum(-1) - self.dim / 2) / math.sqrt(self.dim)

    @staticmethod
    def _front(e):
        """(1 + e)^{−2}, e = exp((z − ct)/√6)."""
        return (1 + e) ** -2

    def ansatz(self, x, nn):
        return self._front(torch.exp(self._z(x) / math.sqrt(6))) + x[..., self.dim] * nn

    def residual(self, u_t, grad_x, lap_x, u=None):
        u = self._value(u)
        return u_t - lap_x - u * (1 - u)

    def exact(self, x):
        t = x[..., self.dim]
        return self._front(torch.exp((self._z(x) - self.speed * t) / math.sqrt(6)))

    def exact_nn(self, x):
        t, e0 = x[..., self.dim], torch.exp(self._z(x) / math.sqrt(6))
        e1 = e0 * torch.exp(-self.speed * t / math.sqrt(6))
        a, b = 1 + e1, 1 + e0  # (a^{−2} − b^{−2})/t = (b − a)(a + b)/(a²b² t), b − a = −e0·expm1(−5t/6)
        return -e0 * _expm1_over(self.speed / math.sqrt(6), t) * (a + b) / (a * b) ** 2


PDES = {"hjb": HJB, "heat": Heat, "black-scholes": BlackScholes, "burgers": Burgers, "fisher": Fisher}


def build_pde(name: str, dim: int | None = None, **params) -> PDE:
    """The PDE ``name`` in ``dim`` spatial dimensions (None: its default), with its ``params``
    (e.g. ``volatility`` for black-scholes); a parameter it does not take is refused."""
    if name not in PDES:
        raise ValueError(f"unknown PDE {name!r}; accepted PDEs are {', '.join(PDES)}")
    cls = PDES[name]
    unknown = sorted(set(params) - set(cls.params))
    if unknown:
        takes = f"its parameters are {', '.join(cls.params)}" if cls.params else "it takes no parameters"
        raise ValueError(f"the {name} PDE takes no {', '.join(unknown)}; {takes}")
    return cls(dim, **params)
