# One image for web, worker, beat and the sandbox.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DEBUG=true python manage.py collectstatic --noinput
EXPOSE 8000
# Workers, threads and keep-alive come from gunicorn.conf.py (WEB_CONCURRENCY overrides).
CMD ["gunicorn", "pema.wsgi:application", "--bind", "0.0.0.0:8000"]
