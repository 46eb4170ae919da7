using Qianbao.Server.Hosting;

try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddQianbao();
    var app = builder.Build();
    await Startup.InitializeAsync(app.Services);
    app.MapQianbao();
    await app.RunAsync();
    return 0;
}
catch (ConfigurationRefusedException e)
{
    // One line per bad key, no stack trace: the operator's next step is to fix the configuration, not to debug.
    foreach (var problem in e.Problems) Console.Error.WriteLine("Qianbao cannot start: " + problem);
    return ConfigurationRefusedException.ExitCode;
}

/// <summary>Entry point type, public so WebApplicationFactory can find it.</summary>
public partial class Program;
