using Dapper;
using Npgsql;
using Qianbao.Server.Modules.Points;

namespace Qianbao.Server.Tests.Points;

/// <summary>
/// On PostgreSQL a redemption's guard locks only the first lots (in the order the redemption consumes them) that cover its points,
/// not every lot the person holds; should another transaction have taken from those meanwhile, it sums every good lot instead.
/// </summary>
public sealed class PointsUsableGuardLockTests(PostgresPointsServer server) : IClassFixture<PostgresPointsServer>
{
    private const long NowUs = 1_900_000_000_000_000;
    private const long DayUs = 86_400_000_000;

    /// <summary>Ten lots of 100 points, the first expiring first.</summary>
    private async Task<(Guid User, Guid[] Lots)> LotsAsync()
    {
        var user = Guid.NewGuid();
        var lots = Enumerable.Range(0, 10).Select(_ => Guid.CreateVersion7()).ToArray();
        await using var connection = await server.Db.OpenAsync();
        await connection.ExecuteAsync("""
            INSERT INTO points_lots (id, user_id, trade_no, amount, remaining, earned_month, earned_at_us, expires_at_us)
            VALUES (@id, @user, 'T', 100, 100, '2030-03', @earned, @expires)
            """, lots.Select((id, i) => new { id, user, earned = NowUs - (10 - i) * DayUs, expires = NowUs + (i + 1) * DayUs }));
        return (user, lots);
    }

    private static async Task<bool> LockedAsync(NpgsqlConnection other, Guid lot)
    {
        await using var tx = await other.BeginTransactionAsync();
        try
        {
            await other.ExecuteAsync("SELECT id FROM points_lots WHERE id = @lot FOR UPDATE NOWAIT", new { lot }, tx);
            return false;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
        {
            return true;
        }
    }

    /// <summary>Until the backend <paramref name="pid"/> waits for a lock (10 s at most).</summary>
    private async Task WaitingForALockAsync(int pid)
    {
        await using var observer = await OpenAsync();
        for (var deadline = DateTime.UtcNow.AddSeconds(10); DateTime.UtcNow < deadline; await Task.Delay(20))
        {
            if (await observer.ExecuteScalarAsync<string?>("SELECT wait_event_type FROM pg_stat_activity WHERE pid = @pid", new { pid }) == "Lock") return;
        }
        throw new TimeoutException($"backend {pid} never waited for a lock");
    }

    private async Task<NpgsqlConnection> OpenAsync() => (NpgsqlConnection)await server.Db.OpenAsync();

    [Fact]
    public async Task Only_the_first_lots_that_cover_the_points_are_locked()
    {
        var (user, lots) = await LotsAsync();
        await using var connection = await OpenAsync();
        await using var other = await OpenAsync();
        await using (var tx = await connection.BeginTransactionAsync())
        {
            var holds = await new PointsUsableGuardChecker().CheckAsync(connection, tx,
                [new PointsUsableGuard(user, 250, NowUs), new PointsUsableGuard(Guid.NewGuid(), 1, NowUs)], CancellationToken.None);
            holds.ShouldBe([true, false]);
            var locked = new List<bool>();
            foreach (var lot in lots) locked.Add(await LockedAsync(other, lot));
            locked.ShouldBe([true, true, true, false, false, false, false, false, false, false]);
        }
        await using (var tx = await connection.BeginTransactionAsync())
        {
            (await new PointsUsableGuardChecker().CheckAsync(connection, tx, [new PointsUsableGuard(user, 1_001, NowUs)], CancellationToken.None))
                .ShouldBe([false]);
        }
    }

    [Fact]
    public async Task When_another_transaction_took_from_the_first_lots_every_good_lot_is_summed()
    {
        var (user, lots) = await LotsAsync();
        await using var connection = await OpenAsync();
        await using var other = await OpenAsync();
        await using var otherTx = await other.BeginTransactionAsync();
        await other.ExecuteAsync("UPDATE points_lots SET remaining = 0 WHERE id = @lot", new { lot = lots[0] }, otherTx);
        await using var tx = await connection.BeginTransactionAsync();
        // The guard reads the first three lots as covering 250, waits for the other transaction's lock on the first, then finds it empty.
        var check = new PointsUsableGuardChecker().CheckAsync(connection, tx, [new PointsUsableGuard(user, 250, NowUs)], CancellationToken.None).AsTask();
        await WaitingForALockAsync(connection.ProcessID);
        check.IsCompleted.ShouldBeFalse();
        await otherTx.CommitAsync();
        (await check).ShouldBe([true]);
        (await LockedAsync(other, lots[9])).ShouldBeTrue();
    }
}
