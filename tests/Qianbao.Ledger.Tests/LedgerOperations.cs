using FsCheck;
using FsCheck.Fluent;

namespace Qianbao.Ledger.Tests;

internal enum OpKind : byte { Plain, Hold, Post, Void, Replay, Advance, Chain }

/// <summary>
/// One generated operation, described by intent rather than by concrete ids, so that any sub-list of
/// a script (what shrinking produces) is still a meaningful script: "post the 3rd hold issued so far"
/// resolves against whatever was issued before it. Fields a kind does not use stay zero.
/// </summary>
/// <param name="Dr">Debit account index into <see cref="LedgerScript.Accounts"/>; past the end means a missing or zero id.</param>
/// <param name="Anomaly">0 for a well-formed request; 1..5 pick one malformation (see <see cref="LedgerScript"/>).</param>
/// <param name="Target">Post/void: 0 a hold issued earlier, 1 any request issued earlier, 2 an unknown id, 3 itself, 4 zero.</param>
/// <param name="AmountMode">Post/void: 0 zero (whole), 1 the hold's amount, 2 part of it, 3 one more, 4 negative.</param>
/// <param name="AccountsMode">Post/void: 0 zero ids, 1 the hold's accounts, 2 a wrong debit account, 3 a wrong credit account.</param>
/// <param name="CurrencyMode">0 the natural currency; 1 CNY, 2 USD, 3 JPY.</param>
/// <param name="Mutation">Replay: 0 identical; 1..8 change one field.</param>
/// <param name="CutAfter">End the batch after this operation.</param>
/// <param name="LeaveOpen">Chain: the last event keeps <see cref="TransferFlags.Linked"/>.</param>
internal sealed record Op(
    OpKind Kind,
    int Dr = 0,
    int Cr = 0,
    long Amount = 0,
    uint Timeout = 0,
    int Anomaly = 0,
    int Pick = 0,
    int Target = 0,
    int AmountMode = 0,
    int AccountsMode = 0,
    int CurrencyMode = 0,
    int Mutation = 0,
    long AdvanceUs = 0,
    bool CutAfter = false,
    bool LeaveOpen = false,
    Op[]? Children = null)
{
    public override string ToString()
    {
        var cut = CutAfter ? " |" : "";
        return Kind switch
        {
            OpKind.Plain or OpKind.Hold => $"{Kind}(dr {Dr}, cr {Cr}, {Amount}, timeout {Timeout}, anomaly {Anomaly}, cur {CurrencyMode}){cut}",
            OpKind.Post or OpKind.Void => $"{Kind}(pick {Pick}, target {Target}, amount {AmountMode}, accounts {AccountsMode}, anomaly {Anomaly}, cur {CurrencyMode}){cut}",
            OpKind.Replay => $"Replay(pick {Pick}, mutation {Mutation}){cut}",
            OpKind.Advance => $"Advance({AdvanceUs} us)",
            OpKind.Chain => $"Chain{(LeaveOpen ? "(open)" : "")}[{string.Join("; ", Children ?? [])}]{cut}",
            _ => Kind.ToString(),
        };
    }
}

/// <summary>A generated script; its text lists the operations one per line, for FsCheck's failure report.</summary>
internal sealed record Script(Op[] Ops)
{
    public override string ToString() => $"{Ops.Length} ops:\n  " + string.Join("\n  ", Ops.Select(o => o.ToString()));
}

/// <summary>Turns a script into concrete batches; the same script always gives the same requests.</summary>
internal sealed class LedgerScript
{
    public const long StartUs = 1_700_000_000_000_000;

    public static readonly Currency Cny = Currency.Cny;
    public static readonly Currency Usd = Currency.Parse("USD");
    public static readonly Currency Jpy = Currency.Parse("JPY");

    /// <summary>The accounts every run starts with: the chart of accounts in miniature, one Closed, one in another currency.</summary>
    public static readonly (AccountId Id, Currency Currency, AccountFlags Flags)[] Accounts =
    [
        (Account(1), Cny, AccountFlags.None),                          // 0 channel clearing
        (Account(2), Cny, AccountFlags.DebitsMustNotExceedCredits),    // 1 wallet
        (Account(3), Cny, AccountFlags.DebitsMustNotExceedCredits),    // 2 merchant
        (Account(4), Cny, AccountFlags.CreditsMustNotExceedDebits),    // 3 capped
        (Account(5), Cny, AccountFlags.Closed),                        // 4 closed
        (Account(6), Cny, AccountFlags.None),                          // 5 fee revenue
        (Account(7), Usd, AccountFlags.None),                          // 6 USD clearing
        (Account(8), Usd, AccountFlags.DebitsMustNotExceedCredits),    // 7 USD wallet
    ];

    private static readonly AccountId MissingAccount = Account(99);

    private readonly List<Transfer> issued = [];
    private readonly List<Transfer> holds = [];
    private readonly List<(Transfer[] Batch, long NowUs)> batches = [];
    private readonly List<Transfer> current = [];
    private long nowUs = StartUs;
    private int nextId = 1;

    /// <summary>
    /// Every script starts by funding the limited accounts, so that spending from them often succeeds;
    /// both ledgers apply this batch like any other.
    /// </summary>
    private LedgerScript()
    {
        Issue(new Transfer(NewId(), Accounts[0].Id, Accounts[1].Id, 10_000, Cny, Code: 1));
        Issue(new Transfer(NewId(), Accounts[0].Id, Accounts[2].Id, 10_000, Cny, Code: 1));
        Issue(new Transfer(NewId(), Accounts[3].Id, Accounts[5].Id, 10_000, Cny, Code: 1));
        Issue(new Transfer(NewId(), Accounts[6].Id, Accounts[7].Id, 10_000, Usd, Code: 1));
        Flush();
    }

    public static IReadOnlyList<(Transfer[] Batch, long NowUs)> Materialize(IEnumerable<Op> ops)
    {
        var script = new LedgerScript();
        foreach (var op in ops) script.Add(op);
        script.Flush();
        return script.batches;
    }

    public static AccountId Account(int n) => new(new Guid($"b0000000-0000-0000-0000-{n:D12}"));

    private void Add(Op op)
    {
        switch (op.Kind)
        {
            case OpKind.Advance:
                Flush();
                nowUs += op.AdvanceUs;
                return;
            case OpKind.Chain:
                var children = op.Children ?? [];
                for (var i = 0; i < children.Length; i++)
                {
                    var linked = i < children.Length - 1 || op.LeaveOpen;
                    var t = Build(children[i]);
                    Issue(t with { Flags = linked ? t.Flags | TransferFlags.Linked : t.Flags & ~TransferFlags.Linked });
                }
                break;
            default:
                Issue(Build(op));
                break;
        }
        if (op.CutAfter) Flush();
    }

    private void Issue(Transfer t)
    {
        issued.Add(t);
        if (t.Has(TransferFlags.Pending)) holds.Add(t);
        current.Add(t);
    }

    private void Flush()
    {
        if (current.Count == 0) return;
        batches.Add((current.ToArray(), nowUs));
        current.Clear();
    }

    private TransferId NewId() => new(new Guid(nextId++, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));

    private static AccountId AccountAt(int index) =>
        index < Accounts.Length ? Accounts[index].Id : index == Accounts.Length ? MissingAccount : default;

    private static Currency CurrencyOf(int mode, Currency natural) => mode switch { 1 => Cny, 2 => Usd, 3 => Jpy, _ => natural };

    private Transfer Build(Op op) => op.Kind switch
    {
        OpKind.Plain or OpKind.Hold => BuildNew(op),
        OpKind.Post or OpKind.Void => BuildPostOrVoid(op),
        OpKind.Replay => BuildReplay(op),
        _ => throw new InvalidOperationException($"{op.Kind} is not a transfer"),
    };

    private Transfer BuildNew(Op op)
    {
        var pending = op.Kind == OpKind.Hold;
        var natural = op.Dr < Accounts.Length ? Accounts[op.Dr].Currency : Cny;
        var t = new Transfer(NewId(), AccountAt(op.Dr), AccountAt(op.Cr), op.Amount, CurrencyOf(op.CurrencyMode, natural), Code: 1,
            pending ? TransferFlags.Pending : TransferFlags.None, TimeoutSeconds: pending ? op.Timeout : 0);
        return Malform(t, op.Anomaly);
    }

    private Transfer BuildPostOrVoid(Op op)
    {
        var id = NewId();
        var hold = op.Target switch
        {
            // Mostly one of the latest holds, which are the likeliest to be still pending.
            0 when holds.Count > 0 => holds[op.Pick % 4 != 0 ? holds.Count - 1 - op.Pick / 4 % Math.Min(holds.Count, 3) : op.Pick / 4 % holds.Count],
            1 when issued.Count > 0 => issued[op.Pick % issued.Count],
            _ => null,
        };
        var pendingId = op.Target switch
        {
            3 => id,
            4 => default,
            _ => hold?.Id ?? new TransferId(new Guid(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2)),
        };
        var full = hold?.Amount ?? 1;
        var amount = op.AmountMode switch
        {
            0 => 0,
            1 => full,
            2 => full > 1 ? 1 + (full - 1) / 2 : full,
            3 => full == long.MaxValue ? full : full + 1,
            _ => -1,
        };
        var (dr, cr) = op.AccountsMode switch
        {
            0 => (default, default),
            1 => (hold?.DebitAccountId ?? default, hold?.CreditAccountId ?? default),
            2 => (AccountAt(op.Dr), hold?.CreditAccountId ?? default),
            _ => (hold?.DebitAccountId ?? default, AccountAt(op.Cr)),
        };
        var flags = op.Kind == OpKind.Post ? TransferFlags.PostPending : TransferFlags.VoidPending;
        var t = new Transfer(id, dr, cr, amount, CurrencyOf(op.CurrencyMode, hold?.Currency ?? Cny), Code: 1, flags, pendingId);
        return Malform(t, op.Anomaly);
    }

    private Transfer BuildReplay(Op op)
    {
        if (issued.Count == 0) return new Transfer(NewId(), Accounts[0].Id, Accounts[5].Id, 1, Cny, Code: 1);
        var t = issued[op.Pick % issued.Count];
        var postOrVoid = t.Has(TransferFlags.PostPending) || t.Has(TransferFlags.VoidPending);
        return op.Mutation switch
        {
            1 => t with { Amount = t.Amount == long.MaxValue ? t.Amount - 1 : t.Amount + 1 },
            2 => t with { Code = (ushort)(t.Code + 1) },
            3 => t with { Reference = "replayed" },
            4 => t with { TimeoutSeconds = t.TimeoutSeconds + 1 },
            5 => t with { Flags = postOrVoid ? t.Flags ^ (TransferFlags.PostPending | TransferFlags.VoidPending) : t.Flags ^ TransferFlags.Pending },
            6 => t with { DebitAccountId = AccountAt((op.Pick + 1) % Accounts.Length) },
            7 => t with { Currency = t.Currency == Cny ? Usd : Cny },
            8 => t with { PendingId = holds.Count > 0 ? holds[op.Pick % holds.Count].Id : t.PendingId },
            _ => t,
        };
    }

    /// <summary>1 zero id, 2 zero code, 3 over-long reference, 4 a pending id or timeout where none belongs, 5 conflicting flags.</summary>
    private Transfer Malform(Transfer t, int anomaly) => anomaly switch
    {
        1 => t with { Id = default },
        2 => t with { Code = 0 },
        3 => t with { Reference = new string('x', Transfer.ReferenceLengthMax + 1) },
        4 when t.Has(TransferFlags.PostPending) || t.Has(TransferFlags.VoidPending) => t with { TimeoutSeconds = 5 },
        4 when t.Has(TransferFlags.Pending) => t with { PendingId = issued.Count > 0 ? issued[^1].Id : NewId() },
        4 => t with { TimeoutSeconds = 5 },
        5 => t with { Flags = t.Flags | TransferFlags.PostPending },
        _ => t,
    };
}

/// <summary>FsCheck generators for <see cref="Script"/>.</summary>
internal static class LedgerGenerators
{
    public const int OpsMax = 60;

    private static Gen<int> Weighted(params (int Weight, int Value)[] choices) =>
        Gen.Frequency(choices.Select(c => (c.Weight, Gen.Constant(c.Value))));

    private static readonly Gen<int> AccountIndex =
        Weighted((6, 0), (5, 1), (4, 2), (3, 3), (1, 4), (3, 5), (1, 6), (1, 7), (1, 8), (1, 9));

    /// <summary>Mostly the flows of the chart of accounts (so that many transfers succeed); sometimes any two indexes.</summary>
    private static readonly Gen<(int Dr, int Cr)> AccountPair = Gen.Frequency(
        (12, Gen.Elements((0, 1), (1, 2), (2, 5), (1, 0), (0, 2), (3, 5), (0, 3), (5, 0), (1, 5), (2, 1), (6, 7), (7, 6), (0, 5), (5, 3))),
        (3, from dr in AccountIndex from cr in AccountIndex select (dr, cr)));

    /// <summary>Mostly small amounts; sometimes zero, negative, or near <see cref="long.MaxValue"/> so that balances overflow.</summary>
    private static readonly Gen<long> Amount = Gen.Frequency(
        (60, Gen.Choose(1, 200).Select(i => (long)i)),
        (2, Gen.Constant(0L)),
        (1, Gen.Constant(-1L)),
        (6, Gen.Choose(0, 100).Select(i => long.MaxValue - i)),
        (3, Gen.Constant(long.MaxValue)),
        (4, Gen.Choose(1, 4).Select(i => long.MaxValue / i)),
        (4, Gen.Choose(1, 1_000_000).Select(i => i * 1_000_000_000_000L)));

    private static readonly Gen<uint> Timeout = Gen.Frequency(
        (10, Gen.Constant(0u)),
        (10, Gen.Choose(1, 10).Select(i => (uint)i)),
        (1, Gen.Constant(Transfer.TimeoutSecondsMax)),
        (1, Gen.Constant(Transfer.TimeoutSecondsMax + 1)));

    private static readonly Gen<int> Anomaly = Weighted((100, 0), (1, 1), (1, 2), (1, 3), (1, 4), (1, 5));
    private static readonly Gen<int> CurrencyMode = Weighted((50, 0), (1, 1), (1, 2), (1, 3));
    private static readonly Gen<bool> Cut = Weighted((2, 0), (1, 1)).Select(i => i == 1);

    private static Gen<Op> NewTransfer(OpKind kind) =>
        from pair in AccountPair
        from amount in Amount
        from timeout in Timeout
        from anomaly in Anomaly
        from currency in CurrencyMode
        from cut in Cut
        select new Op(kind, Dr: pair.Dr, Cr: pair.Cr, Amount: amount, Timeout: timeout, Anomaly: anomaly, CurrencyMode: currency, CutAfter: cut);

    private static Gen<Op> PostOrVoid(OpKind kind) =>
        from pick in Gen.Choose(0, 1000)
        from target in Weighted((40, 0), (2, 1), (1, 2), (1, 3), (1, 4))
        from amountMode in kind == OpKind.Post ? Weighted((6, 0), (4, 1), (4, 2), (1, 3), (1, 4)) : Weighted((8, 0), (6, 1), (1, 2), (1, 3), (1, 4))
        from accountsMode in Weighted((24, 0), (16, 1), (1, 2), (1, 3))
        from dr in AccountIndex
        from cr in AccountIndex
        from anomaly in Anomaly
        from currency in CurrencyMode
        from cut in Cut
        select new Op(kind, Dr: dr, Cr: cr, Pick: pick, Target: target, AmountMode: amountMode, AccountsMode: accountsMode,
            Anomaly: anomaly, CurrencyMode: currency, CutAfter: cut);

    private static readonly Gen<Op> Replay =
        from pick in Gen.Choose(0, 1000)
        from mutation in Weighted((8, 0), (1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8))
        from cut in Cut
        select new Op(OpKind.Replay, Pick: pick, Mutation: mutation, CutAfter: cut);

    /// <summary>Time moves in whole seconds, so holds often reach exactly their expiry; sometimes a microsecond at a time.</summary>
    private static readonly Gen<Op> Advance = Gen.Frequency(
            (6, Gen.Choose(1, 10).Select(s => s * 1_000_000L)),
            (1, Gen.Choose(1, 3).Select(us => (long)us)),
            (1, Gen.Constant((long)Transfer.TimeoutSecondsMax * 1_000_000)))
        .Select(us => new Op(OpKind.Advance, AdvanceUs: us));

    private static readonly Gen<Op> Leaf = Gen.Frequency(
        (8, NewTransfer(OpKind.Plain)),
        (6, NewTransfer(OpKind.Hold)),
        (5, PostOrVoid(OpKind.Post)),
        (3, PostOrVoid(OpKind.Void)),
        (3, Replay));

    private static readonly Gen<Op> Chain =
        from length in Gen.Choose(2, 4)
        from children in Gen.ArrayOf(Leaf, length)
        from open in Weighted((6, 0), (1, 1)).Select(i => i == 1)
        from cut in Cut
        select new Op(OpKind.Chain, Children: children, LeaveOpen: open, CutAfter: cut);

    private static readonly Gen<Op> AnyOp = Gen.Frequency((16, Leaf), (3, Chain), (3, Advance));

    public static readonly Gen<Script> Scripts =
        from count in Gen.Choose(0, OpsMax)
        from ops in Gen.ArrayOf(AnyOp, count)
        select new Script(ops);

    /// <summary>Shrinks by dropping runs of operations, largest first, then by unwrapping chains.</summary>
    public static IEnumerable<Script> Shrink(Script script)
    {
        var ops = script.Ops;
        for (var size = ops.Length / 2; size >= 1; size /= 2)
            for (var start = 0; start + size <= ops.Length; start += size)
                yield return new Script([.. ops[..start], .. ops[(start + size)..]]);
        for (var i = 0; i < ops.Length; i++)
            if (ops[i].Kind == OpKind.Chain)
                yield return new Script([.. ops[..i], .. ops[i].Children ?? [], .. ops[(i + 1)..]]);
    }

    public static Arbitrary<Script> Arbitrary => Arb.From(Scripts, Shrink);
}
