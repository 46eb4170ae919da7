using System.Data.Common;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Identity;

namespace Qianbao.Server.Storage.PersonalData;

/// <summary>
/// A module's table with sealed columns (values from <see cref="PersonalDataProtector.Seal"/>, the row's id and the
/// column name as associated data). The module that owns the table registers it; <see cref="DataKeyRotation"/> then
/// rewrites its values still under an older data key. Only the table's own sealed values are touched.
/// </summary>
internal sealed record SealedTable(string Table, string IdColumn, IReadOnlyList<string> Columns);

/// <summary>
/// A module's start-up conversion of rows written before personal data was sealed (migration 0016): it seals or
/// indexes their clear-text values in place, at most <paramref name="batchMax"/> rows a call.
/// </summary>
internal interface IPlaintextUpgrade
{
    /// <summary>Rows converted; 0 when none is left.</summary>
    Task<int> ConvertBatchAsync(int batchMax, CancellationToken ct);
}

/// <summary>Runs every module's <see cref="IPlaintextUpgrade"/> to the end before the server takes requests.</summary>
internal static class PlaintextUpgrades
{
    public static async Task RunAsync(IServiceProvider services, ILogger logger, CancellationToken ct)
    {
        var batchMax = services.GetRequiredService<SecurityOptions>().ReencryptBatchMax;
        foreach (var upgrade in services.GetServices<IPlaintextUpgrade>())
        {
            var total = 0;
            for (int converted; (converted = await upgrade.ConvertBatchAsync(batchMax, ct)) > 0;) total += converted;
            if (total > 0) logger.LogWarning("Sealed the clear-text personal data of {Rows} row(s) ({Upgrade})", total, upgrade.GetType().Name);
        }
    }
}

/// <summary>
/// Key rotation: after a new data key is put first in <c>Qianbao:Security:DataKeys</c>, new values are sealed with it at
/// once, and this pass (at every start, in the background) rewrites the values still sealed under older keys, table by
/// table in batches of <c>Qianbao:Security:ReencryptBatchMax</c> rows, each batch one transaction. A row is rewritten only
/// if its value is still the one read (a concurrent change wins). When it logs that nothing is left under older keys,
/// those keys can be removed from the configuration.
/// </summary>
internal sealed class DataKeyRotation(Db db, PersonalDataProtector protector, IEnumerable<SealedTable> tables, SecurityOptions security,
    ILogger<DataKeyRotation> logger) : BackgroundService
{
    /// <summary>What one complete pass did.</summary>
    public readonly record struct PassResult(int Rewritten, int Unreadable);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        try
        {
            var result = await RunAsync(stoppingToken);
            if (result.Rewritten > 0 || result.Unreadable > 0)
                logger.LogWarning("Data key rotation: re-sealed {Rewritten} value(s) under key {KeyId}; {Unreadable} could not be opened",
                    result.Rewritten, protector.CurrentKeyId, result.Unreadable);
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the next start goes on where this one was.
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Data key rotation pass failed; it runs again at the next start");
        }
    }

    /// <summary>One pass over every sealed table to its end.</summary>
    public async Task<PassResult> RunAsync(CancellationToken ct)
    {
        var result = new PassResult();
        foreach (var table in tables)
        {
            var after = Guid.Empty;
            while (true)
            {
                var (rows, last, rewritten, unreadable) = await BatchAsync(table, after, ct);
                result = new PassResult(result.Rewritten + rewritten, result.Unreadable + unreadable);
                if (rows < security.ReencryptBatchMax) break;
                after = last;
            }
        }
        return result;
    }

    private async Task<(int Rows, Guid Last, int Rewritten, int Unreadable)> BatchAsync(SealedTable table, Guid after, CancellationToken ct)
    {
        var prefix = protector.CurrentPrefix;
        var stale = string.Join(" OR ", table.Columns.Select(c => $"({c} LIKE 'v1.%' AND substr({c}, 1, {prefix.Length}) <> @prefix)"));
        var sql = $"SELECT {table.IdColumn} AS row_id, {string.Join(", ", table.Columns)} FROM {table.Table} "
                  + $"WHERE {table.IdColumn} > @after AND ({stale}) ORDER BY {table.IdColumn} LIMIT {security.ReencryptBatchMax}";
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var rows = (await connection.QueryAsync(new CommandDefinition(sql, new { after, prefix }, tx, cancellationToken: ct)))
            .Cast<IDictionary<string, object?>>().ToList();
        var last = after;
        int rewritten = 0, unreadable = 0;
        foreach (var row in rows)
        {
            var id = row["row_id"] switch { Guid g => g, string s => Guid.Parse(s), var v => throw new InvalidCastException($"id {v}") };
            last = id;
            var sets = new List<string>();
            var checks = new List<string>();
            var parameters = new DynamicParameters(new { id });
            for (var i = 0; i < table.Columns.Count; i++)
            {
                var column = table.Columns[i];
                if (row[column] is not string value || PersonalDataProtector.KeyIdOf(value) is not { } keyId || keyId == protector.CurrentKeyId) continue;
                var field = new SealedField(table.Table, column, id);
                try
                {
                    parameters.Add("n" + i, protector.Seal(protector.Open(value, field), field));
                    parameters.Add("o" + i, value);
                    sets.Add($"{column} = @n{i}");
                    checks.Add($"{column} = @o{i}");
                }
                catch (SealedValueException e)
                {
                    unreadable++;
                    logger.LogError("Data key rotation: {Problem}", e.Message);
                }
            }
            if (sets.Count == 0) continue;
            rewritten += await connection.ExecuteAsync(new CommandDefinition(
                $"UPDATE {table.Table} SET {string.Join(", ", sets)} WHERE {table.IdColumn} = @id AND {string.Join(" AND ", checks)}",
                parameters, tx, cancellationToken: ct)) * sets.Count;
        }
        await tx.CommitAsync(ct);
        return (rows.Count, last, rewritten, unreadable);
    }
}

/// <summary>Registration of the key ring, the protector and the rotation pass.</summary>
internal static class PersonalDataRegistration
{
    public static IServiceCollection AddPersonalData(this IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var security = sp.GetRequiredService<SecurityOptions>();
            return DataKeyRing.Load(security.DataKeys, security.IndexKey, sp.GetRequiredService<QianbaoOptions>(), sp.GetRequiredService<Db>());
        });
        services.AddSingleton<PersonalDataProtector>();
        services.AddSingleton<DataKeyRotation>();
        services.AddHostedService(sp => sp.GetRequiredService<DataKeyRotation>());
        services.AddSingleton<IPlaintextUpgrade, RateCounterUpgrade>();
        return services;
    }

    /// <summary>Rate-counter keys used to name the phone in clear (<c>verify:+86…</c>); they are short-lived, so they are dropped.</summary>
    private sealed class RateCounterUpgrade(Db db) : IPlaintextUpgrade
    {
        public async Task<int> ConvertBatchAsync(int batchMax, CancellationToken ct)
        {
            await using DbConnection connection = await db.OpenAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM rate_counters WHERE key LIKE '%:+%'", cancellationToken: ct));
            return 0;
        }
    }
}
