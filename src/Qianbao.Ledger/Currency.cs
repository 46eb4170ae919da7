using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace Qianbao.Ledger;

/// <summary>
/// An ISO 4217 currency: its three-letter upper-case code and its exponent (the number of minor-unit
/// digits: 2 for CNY, 0 for JPY, 3 for KWD). Amounts are always integer minor units of a currency.
/// </summary>
public readonly record struct Currency
{
    private static readonly FrozenDictionary<string, int> Exponents = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["CNY"] = 2, ["HKD"] = 2, ["MOP"] = 2, ["TWD"] = 2, ["USD"] = 2, ["EUR"] = 2, ["GBP"] = 2,
        ["SGD"] = 2, ["AUD"] = 2, ["CAD"] = 2, ["CHF"] = 2, ["THB"] = 2, ["MYR"] = 2, ["NZD"] = 2,
        ["JPY"] = 0, ["KRW"] = 0, ["VND"] = 0, ["BHD"] = 3, ["KWD"] = 3, ["JOD"] = 3, ["OMR"] = 3,
        // Not ISO 4217: the wallet's loyalty points, a ledger unit of its own so that points are accounted like money
        // (issued, held, redeemed, expired) but never mixed with it. See IsMoney.
        [PointsCode] = 0,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private Currency(string code, int exponent)
    {
        Code = code;
        Exponent = exponent;
    }

    /// <summary>Three upper-case ASCII letters, e.g. <c>CNY</c>.</summary>
    public string Code { get; }

    /// <summary>Minor-unit digits, 0..3.</summary>
    public int Exponent { get; }

    public static Currency Cny { get; } = new("CNY", 2);

    /// <summary>The code of the loyalty-points unit.</summary>
    public const string PointsCode = "PTS";

    /// <summary>Loyalty points (<c>PTS</c>, exponent 0): a ledger unit, not money.</summary>
    public static Currency Points { get; } = new(PointsCode, 0);

    /// <summary>
    /// False for <see cref="Points"/>: a unit the ledger books but that no one can top up, transfer, pay or withdraw.
    /// The native API's amount parsing refuses it (<c>invalid_currency</c>), so only the points module moves it.
    /// </summary>
    public bool IsMoney => Code != PointsCode;

    /// <summary>Every currency this deployment knows, ordered by code (<see cref="Points"/> included: filter on <see cref="IsMoney"/>).</summary>
    public static IEnumerable<Currency> All => Exponents.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new Currency(e.Key, e.Value));

    /// <summary>Parses a known ISO 4217 code (exact upper case); unknown codes are rejected.</summary>
    public static bool TryParse(string? code, [NotNullWhen(true)] out Currency? currency)
    {
        if (code is not null && Exponents.TryGetValue(code, out var exponent))
        {
            currency = new Currency(code, exponent);
            return true;
        }
        currency = null;
        return false;
    }

    /// <summary>Parses a code that must be known (stored data); throws on an unknown code.</summary>
    public static Currency Parse(string code) =>
        TryParse(code, out var c) ? c.Value : throw new InvariantViolationException($"unknown currency '{code}' in stored data");

    public override string ToString() => Code;
}
