using FsCheck;
using FsCheck.Fluent;

namespace Qianbao.Ledger.Tests;

/// <summary>
/// Random operation sequences, cut into random batches, applied to <see cref="InMemoryLedger"/>, to a
/// <see cref="WorkingSetStore"/> that loads only each batch's slice, and to the naive
/// <see cref="ReferenceLedger"/>: every result, every balance and every recorded transfer must agree, money must be conserved per currency after every batch, and no flagged account may break
/// its limit.
/// </summary>
public sealed class LedgerPropertyTests
{
    /// <summary>300 by default (about a second); set LEDGER_PROPERTY_CASES for a longer hunt without editing this file.</summary>
    private static readonly int Cases =
        int.TryParse(Environment.GetEnvironmentVariable("LEDGER_PROPERTY_CASES"), out var n) && n > 0 ? n : 300;

    /// <summary>Results the generator must reach over a run; a generator that drifts into trivial scripts fails here.</summary>
    private static readonly TransferResult[] MustBeExercised =
    [
        TransferResult.Created, TransferResult.Exists, TransferResult.LinkedEventFailed, TransferResult.LinkedEventChainOpen,
        TransferResult.ExceedsCredits, TransferResult.ExceedsDebits, TransferResult.PendingTransferExpired,
        TransferResult.PendingTransferAlreadyPosted, TransferResult.PendingTransferAlreadyVoided, TransferResult.ExceedsPendingTransferAmount,
        TransferResult.OverflowsCreditsPosted, TransferResult.OverflowsDebitsPosted, TransferResult.OverflowsCreditsPending,
        TransferResult.OverflowsDebitsPending, TransferResult.OverflowsCredits, TransferResult.OverflowsDebits,
        TransferResult.DebitAccountClosed, TransferResult.CreditAccountClosed, TransferResult.AccountsMustHaveTheSameCurrency,
        TransferResult.ExistsWithDifferentAmount, TransferResult.ExistsWithDifferentFlags, TransferResult.PendingTransferNotFound,
    ];

    [Fact]
    public void InMemoryLedgerAgreesWithTheReferenceModelUnderRandomBatching()
    {
        var seen = new HashSet<TransferResult>();
        var config = Config.QuickThrowOnFailure.WithMaxTest(Cases).WithEndSize(LedgerGenerators.OpsMax);

        Check.One(config, Prop.ForAll(LedgerGenerators.Arbitrary, script => Run(script, seen)));

        MustBeExercised.Where(r => !seen.Contains(r)).ShouldBeEmpty("the generator no longer reaches these results");
    }

    /// <summary>Runs one script through both ledgers, checking after every batch; throws on the first disagreement.</summary>
    /// <param name="modelFlags">Lets a test give the model different account flags, to prove a disagreement is caught.</param>
    private static void Run(Script script, HashSet<TransferResult> seen, Func<AccountFlags, AccountFlags>? modelFlags = null)
    {
        var ledger = new InMemoryLedger();
        var model = new ReferenceLedger();
        var store = new WorkingSetStore();
        foreach (var (id, currency, flags) in LedgerScript.Accounts)
        {
            ledger.CreateAccount(new Account(id, currency, Code: 1, flags)).ShouldBe(CreateAccountResult.Created);
            store.AddAccount(new Account(id, currency, Code: 1, flags));
            model.AddAccount(id, currency, modelFlags?.Invoke(flags) ?? flags);
        }
        var accountIds = LedgerScript.Accounts.Select(a => a.Id).ToArray();
        var requested = new HashSet<TransferId>();

        var batches = LedgerScript.Materialize(script.Ops);
        for (var b = 0; b < batches.Count; b++)
        {
            var (batch, nowUs) = batches[b];
            var where = $"batch {b} at {nowUs}:\n  " + string.Join("\n  ", batch.Select(t => t.ToString()));

            var expected = model.Apply(batch, nowUs);
            var actual = ledger.CreateTransfers(batch, nowUs);

            actual.ShouldBe(expected, where);
            store.Apply(batch, nowUs).ShouldBe(expected, "working set as a store uses it, " + where);
            seen.UnionWith(actual);
            foreach (var t in batch) requested.Add(t.Id);

            foreach (var totals in ledger.Totals(accountIds)) totals.IsBalanced.ShouldBeTrue($"{totals} after {where}");
            foreach (var id in accountIds)
            {
                var account = ledger.GetAccount(id);
                account.BalancesAreValid.ShouldBeTrue($"{account} after {where}");
                var m = model.Accounts[id];
                (account.DebitsPosted, account.CreditsPosted, account.DebitsPending, account.CreditsPending)
                    .ShouldBe((m.DebitsPosted, m.CreditsPosted, m.DebitsPending, m.CreditsPending), $"balances of {id} after {where}");
                store.Accounts[id].ShouldBe(account, $"stored account {id} after {where}");
            }
        }

        ledger.Transfers.Select(t => t.Id).ShouldBe(model.Order, "transfers recorded, in order");
        store.Order.ShouldBe(model.Order, "transfers stored, in order");
        ledger.Transfers.ShouldAllBe(t => t == ledger.GetTransfer(t.Id), "the log shows each transfer as it stands");
        foreach (var id in requested)
        {
            var actual = ledger.GetTransfer(id);
            if (!model.Transfers.TryGetValue(id, out var e))
            {
                actual.ShouldBeNull($"transfer {id} should not be recorded");
                store.Transfers.ContainsKey(id).ShouldBeFalse($"transfer {id} should not be stored");
                continue;
            }
            actual.ShouldNotBeNull($"transfer {id} should be recorded");
            store.Transfers[id].ShouldBe(actual, $"stored transfer {id}");
            new ReferenceLedger.Recorded(actual.Id, actual.DebitAccountId, actual.CreditAccountId, actual.Amount, actual.Currency.Code,
                    actual.Code, actual.Flags, actual.PendingId, actual.TimeoutSeconds, actual.Reference, actual.TimestampUs, actual.State)
                .ShouldBe(e, $"transfer {id}");
        }
    }

    [Fact]
    public void ScriptsMaterializeDeterministically()
    {
        // The comparison above relies on both ledgers receiving identical requests.
        var scripts = LedgerGenerators.Scripts.Sample(20, 10);
        foreach (var script in scripts)
        {
            var first = LedgerScript.Materialize(script.Ops);
            var second = LedgerScript.Materialize(script.Ops);
            second.Count.ShouldBe(first.Count);
            for (var i = 0; i < first.Count; i++)
            {
                second[i].NowUs.ShouldBe(first[i].NowUs);
                second[i].Batch.ShouldBe(first[i].Batch);
            }
        }
    }

    [Fact]
    public void HarnessCatchesALedgerThatDisagreesWithTheModel()
    {
        // The comparison must be able to fail: if the model forgot the wallet's limit, overdrawing it would differ.
        var overdraw = new Script([new Op(OpKind.Plain, Dr: 1, Cr: 5, Amount: 1_000_000)]);
        Run(overdraw, []);
        Should.Throw<ShouldAssertException>(() => Run(overdraw, [], modelFlags: f => f & ~AccountFlags.DebitsMustNotExceedCredits));
    }
}
