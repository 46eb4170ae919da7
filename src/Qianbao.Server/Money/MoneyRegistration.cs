using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Money.Pipeline;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Money;

/// <summary>Wires the money pipeline: the ledger store and executor, policies, and the pipeline modules submit through.</summary>
public static class MoneyRegistration
{
    /// <summary>
    /// Registers the pipeline. Modules add their own <see cref="IGuardChecker"/>s, <see cref="IEffectWriter"/>s and
    /// <see cref="IMovementPolicy"/>s as singletons; the store receives all of them.
    /// </summary>
    public static IServiceCollection AddMoney(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IMovementPolicy, FreezePolicy>();
        services.AddSingleton<IGuardChecker, IdempotencyKeyFreeGuardChecker>();
        services.AddSingleton(sp => new PipelineParts(sp.GetServices<IGuardChecker>(), sp.GetServices<IEffectWriter>(), sp.GetServices<IMovementPolicy>()));
        services.AddSingleton<LedgerStore>(sp =>
        {
            var db = sp.GetRequiredService<Db>();
            var parts = sp.GetRequiredService<PipelineParts>();
            return db.Engine == DatabaseEngine.Postgres ? new PostgresLedgerStore(db, parts) : new SqliteLedgerStore(db, parts);
        });
        services.AddSingleton<LedgerExecutor>();
        services.AddSingleton<MoneyPipeline>();
        services.AddSingleton<LedgerAccounts>();
        services.AddSingleton<MoneyMovement>();
        services.AddSingleton<Idempotency>();
        services.AddSingleton<Freezes>();
        services.AddSingleton<AccountOwners>();
        services.AddSingleton<LedgerHistory>();
        services.AddSingleton<LedgerHolds>();
        return services;
    }
}
