using Microsoft.Extensions.Options;

namespace Qianbao.Server.Hosting;

/// <summary>
/// Runs every <c>ValidateOnStart</c> check now, before the database is touched, and turns the failures into one
/// <see cref="ConfigurationRefusedException"/> whose lines each name a key. The host would run the same checks
/// again when it starts; by then they are cached and pass.
/// </summary>
public static class StartupValidation
{
    public static void ThrowIfConfigurationInvalid(IServiceProvider services)
    {
        try
        {
            services.GetService<IStartupValidator>()?.Validate();
        }
        catch (OptionsValidationException e)
        {
            throw new ConfigurationRefusedException(e.Failures.ToList());
        }
        catch (AggregateException e) when (e.InnerExceptions.All(i => i is OptionsValidationException or ConfigurationRefusedException))
        {
            throw new ConfigurationRefusedException(e.InnerExceptions
                .SelectMany(i => i is OptionsValidationException o ? o.Failures : ((ConfigurationRefusedException)i).Problems).ToList());
        }
    }
}
